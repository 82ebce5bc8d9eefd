//! The authorization endpoint's interaction — sign-in, then consent — the
//! logout endpoint's (in `logout`), and the sign-in and home pages.
//!
//! The library validates each authorization request before this code sees
//! it, and keeps it as a pending request under an unguessable handle
//! (`defer`). A browser without a login gets the sign-in form, which
//! remembers where to go next: the consent page of that request, or the
//! device page with the user code. Every form carries the session's CSRF
//! token, so no other site can post one, nor sign a victim in as the
//! attacker (login CSRF). A successful sign-in starts a new session (no
//! session fixation) and makes the browser known for that user, which keeps
//! it from being locked out by others' guesses (see `users`). Whether a
//! request needs the sign-in page, the consent page or neither — OpenID
//! Connect's `prompt` and `max_age` included — is decided in `openid`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use portcullis::axum::{Interaction, LogoutOutcome, Outcome};
use portcullis::client::ThrottleSource;
use portcullis::endpoint::{LogoutRequest, PendingAuthorization};
use portcullis::protocol::OAuthError;
use serde::Deserialize;

use super::consent::consent_page;
use super::form::Form;
use super::openid::Step;
use super::options::MAX_USER_NAME_LEN;
use super::pages::{
    self, AccessRequest, Home, Login, form_not_accepted, see_other, server_error, too_many_attempts,
};
use super::session::Session;
use super::users::{LoginError, Origin};
use super::{App, AppState};

/// The interaction the library's Router calls with each validated
/// authorization request: the consent page for a signed-in browser, the
/// sign-in page first for any other. The decision comes on a later request
/// — the consent form — so the request is kept in the store under a handle.
pub struct SignInAndConsent(pub App);

impl Interaction for SignInAndConsent {
    async fn interact(&self, mut pending: PendingAuthorization, parts: Parts) -> Outcome {
        let app = &self.0;
        let jar = app.sessions.jar(&parts.headers);
        let step = Step::of(&pending, app.sessions.read(&jar).as_ref());
        // `prompt=none` (OpenID Connect Core 1.0 §3.1.2.1): no page; the
        // approval this session already gave, or the error saying why not.
        if pending.prompt().none() {
            return match step.silently() {
                Ok(approval) => Outcome::approve_with(pending, approval),
                Err(why) => Outcome::interaction_required(pending, why),
            };
        }
        let handle = match app.server.defer(&mut pending).await {
            Ok(handle) => handle.to_owned(),
            Err(e) => return Outcome::page(server_error(&e)),
        };
        let (jar, session) = app.sessions.read_or_start(jar);
        let page = match step {
            Step::SignIn(notice) => {
                let next = Next::Consent(handle);
                login_page(app, &session, &next, notice, StatusCode::OK).await
            }
            Step::Consent | Step::Approved(_) => consent_page(app, &session, &pending, &handle),
        };
        Outcome::page((jar, page))
    }

    /// The logout endpoint's request, validated: the user confirms, then
    /// the session ends (see `logout`).
    async fn end_session(&self, logout: LogoutRequest, parts: Parts) -> LogoutOutcome {
        super::logout::end_session(&self.0, logout, &parts)
    }

    /// The request cannot be trusted to redirect (unknown client, bad
    /// redirect URI): a page that sends the browser nowhere (RFC 6749
    /// §4.1.2.1).
    fn rejected(&self, error: &OAuthError, _parts: &Parts) -> Response {
        let reason = error.description().unwrap_or(error.code().as_str());
        let text = format!("The authorization request is invalid: {reason}.");
        pages::message(StatusCode::BAD_REQUEST, "Request not accepted", &text)
    }
}

/// Where the browser goes once signed in.
pub enum Next {
    /// The consent page of the pending request with this handle.
    Consent(String),
    /// The device page, with this user code (perhaps empty).
    Device(String),
    /// The home page.
    Home,
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    csrf: String,
    next: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    user_code: String,
}

impl Next {
    fn from_form(form: &SignInForm) -> Self {
        match form.next.as_str() {
            "consent" => Next::Consent(form.request.clone()),
            "device" => Next::Device(form.user_code.clone()),
            _ => Next::Home,
        }
    }

    fn location(&self, app: &AppState) -> String {
        let paths = &app.paths;
        let with = |path: &str, name: &str, value: &str| {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(name, value)
                .finish();
            app.url(&format!("{path}?{query}"))
        };
        match self {
            Next::Consent(handle) => with(&paths.consent, "request", handle),
            Next::Device(code) if code.is_empty() => app.url(&paths.device),
            Next::Device(code) => with(&paths.device, "user_code", code),
            Next::Home => app.url(&paths.home),
        }
    }
}

/// The sign-in page for `session`.
pub async fn login_page(
    app: &AppState,
    session: &Session,
    next: &Next,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    // What the user is signing in for, and who the client thinks they are
    // (`login_hint`, OpenID Connect Core 1.0 §3.1.2.1: prefilled, never
    // trusted; a hint no user name could match is left out).
    let (request, username) = match next {
        Next::Consent(handle) => match app.server.pending_authorization(handle).await {
            Ok(Some(pending)) => (
                Some(AccessRequest::new(pending.client(), pending.scope())),
                pending
                    .login_hint()
                    .filter(|hint| hint.len() <= MAX_USER_NAME_LEN)
                    .map(str::to_owned),
            ),
            _ => (None, None),
        },
        _ => (None, None),
    };
    let (next_name, handle, user_code) = match next {
        Next::Consent(handle) => ("consent", Some(handle.as_str()), None),
        Next::Device(code) => ("device", None, Some(code.as_str())),
        Next::Home => ("home", None, None),
    };
    let page = Login {
        notice: error,
        request,
        username: username.as_deref(),
        device: matches!(next, Next::Device(_)),
        action: &app.paths.login,
        csrf: session.csrf(),
        next: next_name,
        handle,
        user_code,
    };
    pages::render(status, &page)
}

/// `GET`: the sign-in page on its own.
pub async fn show(State(app): State<App>, headers: HeaderMap) -> Response {
    let (jar, session) = app.sessions.read_or_start(app.sessions.jar(&headers));
    let page = login_page(&app, &session, &Next::Home, None, StatusCode::OK).await;
    (jar, page).into_response()
}

/// `POST`: checks the form and the password, starts a signed-in session
/// under a new id, and sends the browser on.
pub async fn submit(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = Next::from_form(&form);
    let jar = app.sessions.jar(&headers);
    let Some(session) = app.sessions.read(&jar).filter(|s| s.check_csrf(&form.csrf)) else {
        return form_not_accepted();
    };
    let name = form.username.as_str();
    // A browser that signed in as this user before is throttled by itself,
    // any other by its source and the name (see `users`): someone else's
    // guesses never lock the user out of their own browser.
    let known = app.sessions.known_browser(&jar, &session, name);
    // The peer's address (an IPv6 host's /64): behind a proxy it would be
    // the proxy's, and a host that trusts its proxy takes the client's
    // address from it instead — never from a header anyone can send.
    let source = ThrottleSource::from_ip(peer.ip());
    let origin = match &known {
        Some(browser) => Origin::KnownBrowser(browser),
        None => Origin::Source(source.as_str()),
    };
    match app.users.check(name, &form.password, origin).await {
        Ok(user) => {
            let pending = match &next {
                Next::Consent(handle) => Some(handle.as_str()),
                _ => None,
            };
            let jar = app.sessions.login(jar, &user, pending);
            (jar, see_other(&next.location(&app))).into_response()
        }
        Err(LoginError::Wrong) => {
            let error = Some("Wrong user name or password.");
            login_page(&app, &session, &next, error, StatusCode::FORBIDDEN).await
        }
        Err(LoginError::Throttled(wait)) => too_many_attempts(wait),
        Err(LoginError::Unavailable(e)) => server_error(&*e),
    }
}

/// `GET`: who is signed in, and where things are.
pub async fn home(State(app): State<App>, headers: HeaderMap) -> Response {
    let session = app.sessions.read(&app.sessions.jar(&headers));
    let signed_in = session.as_ref().and_then(|s| Some((s.user()?, s.csrf())));
    let metadata = app.server.metadata_url();
    let page = Home {
        notice: None,
        signed_in,
        logout: &app.paths.logout,
        sign_out: super::logout::SIGN_OUT,
        login: &app.paths.login,
        device: &app.paths.device,
        metadata: metadata.as_str(),
    };
    pages::render(StatusCode::OK, &page)
}
