//! Signing out at the OpenID Provider's logout endpoint (OpenID Connect
//! RP-Initiated Logout 1.0): the library validates the request — the
//! `id_token_hint`, the client, a `post_logout_redirect_uri` registered
//! exactly — and this code ends the session, once the user confirms.
//!
//! The home page's "Sign out" button posts to the same endpoint, so there
//! is one way out. A browser with a session is asked first (§2: the
//! provider SHOULD ask; it MUST unless the hint names the user signed in,
//! and this server always asks), on a form that re-posts the request with
//! the session's CSRF token and the answer; only that answer, from this
//! browser, ends the session. Then the library redirects to the relying
//! party with `state`, or shows its "signed out" page. A browser without a
//! session has nothing to end: it goes on at once. "Stay signed in" ends
//! nothing and sends the browser nowhere.

use axum::response::IntoResponse;
use http::header::SET_COOKIE;
use http::request::Parts;
use http::{Method, StatusCode};
use portcullis::axum::LogoutOutcome;
use portcullis::endpoint::LogoutRequest;

use super::AppState;
use super::pages::{self, SignOut, form_not_accepted};

/// The answer on the confirmation form, and on the home page's button.
pub const SIGN_OUT: &str = "sign_out";
/// "Stay signed in".
pub const STAY: &str = "stay";

/// Answers a validated logout request.
pub fn end_session(app: &AppState, logout: LogoutRequest, parts: &Parts) -> LogoutOutcome {
    let jar = app.sessions.jar(&parts.headers);
    let session = app.sessions.read(&jar);
    let Some((session, user)) = session.as_ref().and_then(|s| Some((s, s.user()?))) else {
        // No one is signed in here: nothing to end, nothing to ask.
        return LogoutOutcome::signed_out(logout);
    };
    let answer = (parts.method == Method::POST)
        .then(|| logout.parameter("decision"))
        .flatten();
    let Some(answer) = answer else {
        return LogoutOutcome::page(confirmation(app, &logout, user, session.csrf()));
    };
    // An answer counts only from a form this site gave this browser.
    if !logout
        .parameter("csrf")
        .is_some_and(|csrf| session.check_csrf(csrf))
    {
        return LogoutOutcome::page(form_not_accepted());
    }
    match answer {
        SIGN_OUT => {
            let cleared = (app.sessions.logout(jar), ()).into_response();
            let headers = cleared
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .map(|value| (SET_COOKIE, value.clone()))
                .collect::<Vec<_>>();
            LogoutOutcome::signed_out_with(logout, headers)
        }
        STAY => LogoutOutcome::page(pages::message(
            StatusCode::OK,
            "Still signed in",
            "You are still signed in. You may close this page.",
        )),
        _ => LogoutOutcome::page(pages::message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "Sign out or stay signed in.",
        )),
    }
}

/// The question: sign out of this server?
fn confirmation(
    app: &AppState,
    logout: &LogoutRequest,
    user: &str,
    csrf: &str,
) -> axum::response::Response {
    let page = SignOut {
        notice: None,
        user,
        client: logout.client().map(|c| {
            (
                c.name().unwrap_or("An unnamed application"),
                c.id().as_str(),
            )
        }),
        action: &app.paths.logout,
        fields: logout.resubmit_fields().collect(),
        csrf,
        sign_out: SIGN_OUT,
        stay: STAY,
    };
    pages::render(StatusCode::OK, &page)
}
