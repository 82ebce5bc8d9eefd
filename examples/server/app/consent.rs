//! The authorization endpoint (RFC 6749 §3.1, §4.1) and the consent page.
//!
//! The library validates the request and keeps it as a pending request
//! with an unguessable handle. A browser without a login gets the sign-in
//! page first; a logged-in user gets the consent page, which shows the
//! client and the scope asked, and whose form carries the handle and a CSRF
//! token bound to the session and the handle (RFC 6819 §4.4.1.8). The
//! decision goes to the library, which answers with the `303` to the client.
//!
//! After sign-in the browser comes to `GET consent?request=…&binding=…`,
//! where `binding` ties the handle to the new session: the link is useless
//! in any other browser.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use portcullis::endpoint::{DecisionError, PendingAuthorization};
use portcullis::protocol::Params;

use super::html::{access_request, escape, field, hidden, message, page, server_error};
use super::login::{Next, form_not_accepted, login_page};
use super::oauth::read;
use super::session::Session;
use super::{App, AppState};

/// An authorization request: `GET`, or `POST` with a form (RFC 6749 §3.1).
pub(super) async fn authorize(State(app): State<App>, request: Request) -> Response {
    match read(request).await {
        Ok(request) => start(&app, &request).await,
        Err(too_large) => too_large,
    }
}

/// Validates the request, defers it to the consent form, and shows the
/// sign-in or the consent page; or answers with the library's error: a
/// redirect to the client, or — when the client or the redirect URI cannot
/// be trusted — a `400` page that sends the browser nowhere (RFC 6749
/// §4.1.2.1).
async fn start(app: &AppState, request: &http::Request<Bytes>) -> Response {
    let mut pending = match app.server.authorization_request(request).await {
        Ok(pending) => pending,
        Err(error) => return error.into_http().map(Body::from),
    };
    // The decision comes on a later request — the consent form, perhaps after
    // sign-in — so the request is kept in the store under a handle.
    let handle = match app.server.defer(&mut pending).await {
        Ok(handle) => handle.to_owned(),
        Err(e) => return server_error(&e),
    };
    let session = app.sessions.read_or_start(request.headers());
    if session.user().is_some() {
        consent_page(app, &session, &pending, &handle)
    } else {
        let next = Next::Consent(handle);
        login_page(app, &session, &next, None, StatusCode::OK).await
    }
}

/// `GET`: the consent page, after sign-in.
pub(super) async fn view(State(app): State<App>, request: Request) -> Response {
    let query = request.uri().query().unwrap_or_default();
    let params = Params::parse(query.as_bytes()).ok();
    let param = |name| params.as_ref().map_or("", |p| field(p, name));
    let handle = param("request");
    let session = app
        .sessions
        .read(request.headers())
        .filter(|s| s.user().is_some());
    let Some(session) = session.filter(|s| {
        app.sessions
            .check_csrf(s, &["view", handle], param("binding"))
    }) else {
        return form_not_accepted();
    };
    match app.server.pending_authorization(handle).await {
        Ok(Some(pending)) => consent_page(&app, &session, &pending, handle),
        Ok(None) => not_pending(),
        Err(e) => server_error(&e),
    }
}

/// `POST`: the user's decision.
pub(super) async fn decide(State(app): State<App>, request: Request) -> Response {
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
    let handle = field(&form, "request");
    let session = app.sessions.read(request.headers());
    let Some((session, user)) = session.as_ref().and_then(|s| Some((s, s.user()?))) else {
        return form_not_accepted();
    };
    if !app
        .sessions
        .check_csrf(session, &["consent", handle], field(&form, "csrf"))
    {
        return form_not_accepted();
    }
    let pending = match app.server.pending_authorization(handle).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return not_pending(),
        Err(e) => return server_error(&e),
    };
    let decided = match field(&form, "decision") {
        "approve" => app.server.approve(pending, user, None).await,
        "deny" => app.server.deny(pending).await,
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

/// The consent page: who asks for what, and the decision. `handle` is the
/// deferred request's.
fn consent_page(
    app: &AppState,
    session: &Session,
    pending: &PendingAuthorization,
    handle: &str,
) -> Response {
    let csrf = app.sessions.csrf(session, &["consent", handle]);
    let body = format!(
        "<p>Signed in as <strong>{user}</strong>.</p>{request_text}\
         <p>Your answer goes to <code>{redirect}</code>.</p>\
         <form method=\"post\" action=\"{action}\">{request}{csrf_field}\
         <p><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form>",
        user = escape(session.user().unwrap_or_default()),
        request_text = access_request(pending.client(), pending.scope()),
        redirect = escape(pending.redirect_uri()),
        action = escape(&app.paths.consent),
        request = hidden("request", handle),
        csrf_field = hidden("csrf", &csrf),
    );
    page(StatusCode::OK, "Allow access?", &body)
}

fn not_pending() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "Request expired",
        "This authorization request was already answered, or has expired. \
         Start again from the application.",
    )
}
