//! Signing in and out, and the home page.
//!
//! The sign-in form is shown by the authorization endpoint and the device
//! verification page to a browser without a login, and remembers where to
//! go next: the consent page of the authorization request, or the
//! verification page with the user code. Its CSRF token is bound to the
//! session and to that destination, so a form can neither log a victim in
//! (login CSRF) nor be pointed at another request. A successful sign-in
//! makes the browser known for that user (see `session`), which keeps it
//! from being locked out by others' guesses (see `users`).

use axum::extract::{Request, State};
use axum::response::Response;
use http::StatusCode;
use portcullis::protocol::Params;

use super::html::{
    access_request, escape, field, hidden, message, notice, page, see_other, server_error,
    too_many_attempts,
};
use super::oauth::read;
use super::session::Session;
use super::source;
use super::users::{LoginError, Origin};
use super::{App, AppState};

/// Where the browser goes once logged in.
pub(super) enum Next {
    /// The consent page of the pending authorization request with this
    /// handle.
    Consent(String),
    /// The device verification page, with this user code (perhaps empty).
    Device(String),
    /// The home page.
    Home,
}

impl Next {
    fn from_form(form: &Params<'_>) -> Self {
        match field(form, "next") {
            "consent" => Next::Consent(field(form, "request").to_owned()),
            "device" => Next::Device(field(form, "user_code").to_owned()),
            _ => Next::Home,
        }
    }

    /// What the CSRF token covers.
    fn parts(&self) -> [&str; 3] {
        match self {
            Next::Consent(handle) => ["login", "consent", handle],
            Next::Device(code) => ["login", "device", code],
            Next::Home => ["login", "home", ""],
        }
    }

    fn fields(&self) -> String {
        match self {
            Next::Consent(handle) => hidden("next", "consent") + &hidden("request", handle),
            Next::Device(code) => hidden("next", "device") + &hidden("user_code", code),
            Next::Home => hidden("next", "home"),
        }
    }

    /// Where to send `session`, just logged in.
    fn location(&self, app: &AppState, session: &Session) -> String {
        let paths = &app.paths;
        match self {
            Next::Consent(handle) => {
                // The consent page opens only for this session.
                let binding = app.sessions.csrf(session, &["view", handle]);
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("request", handle)
                    .append_pair("binding", &binding)
                    .finish();
                app.url(&format!("{}?{query}", paths.consent))
            }
            Next::Device(code) if code.is_empty() => app.url(&paths.device),
            Next::Device(code) => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("user_code", code)
                    .finish();
                app.url(&format!("{}?{query}", paths.device))
            }
            Next::Home => app.url(&paths.home),
        }
    }

    /// What the user is signing in for.
    async fn purpose(&self, app: &AppState) -> String {
        match self {
            Next::Consent(handle) => match app.server.pending_authorization(handle).await {
                Ok(Some(pending)) => access_request(pending.client(), pending.scope()),
                _ => String::new(),
            },
            Next::Device(_) => "<p>Sign in to connect a device to your account.</p>".to_owned(),
            Next::Home => String::new(),
        }
    }
}

/// The sign-in page for `session`, setting its cookie if it is new.
pub(super) async fn login_page(
    app: &AppState,
    session: &Session,
    next: &Next,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = app.sessions.csrf(session, &next.parts());
    let body = format!(
        "{notice}{purpose}<form method=\"post\" action=\"{action}\">\
         <p><label>User name <input name=\"username\" autocomplete=\"username\" \
         required autofocus></label></p>\
         <p><label>Password <input type=\"password\" name=\"password\" \
         autocomplete=\"current-password\" required></label></p>\
         {csrf_field}{next_fields}<p><button type=\"submit\">Sign in</button></p></form>",
        notice = notice(error),
        purpose = next.purpose(app).await,
        action = escape(&app.paths.login),
        csrf_field = hidden("csrf", &csrf),
        next_fields = next.fields(),
    );
    let mut response = page(status, "Sign in", &body);
    app.sessions.set_cookie(session, response.headers_mut());
    response
}

/// `GET`: the sign-in page on its own.
pub(super) async fn show(State(app): State<App>, request: Request) -> Response {
    let session = app.sessions.read_or_start(request.headers());
    login_page(&app, &session, &Next::Home, None, StatusCode::OK).await
}

/// `POST`: checks the form and the password, starts a logged-in session
/// under a new id, and sends the browser on.
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
    let next = Next::from_form(&form);
    let session = app.sessions.read(request.headers());
    let Some(session) = session.filter(|s| {
        app.sessions
            .check_csrf(s, &next.parts(), field(&form, "csrf"))
    }) else {
        return form_not_accepted();
    };
    let name = field(&form, "username");
    // A browser that signed in as this user before is throttled by itself,
    // any other by its source and the name (see `users`): someone else's
    // guesses never lock the user out of their own browser.
    let known = app
        .sessions
        .known_browser(request.headers(), &session, name);
    let source = source::key(&request);
    let origin = match &known {
        Some(browser) => Origin::KnownBrowser(browser),
        None => Origin::Source(&source),
    };
    let login = app.users.check(name, field(&form, "password"), origin);
    match login.await {
        Ok(user) => {
            let session = app.sessions.login(&user);
            let mut response = see_other(&next.location(&app, &session));
            app.sessions.set_cookie(&session, response.headers_mut());
            // Known from now on, for this user only, through sign-out.
            app.sessions
                .set_known_browser_cookie(&user, response.headers_mut());
            response
        }
        Err(LoginError::Wrong) => {
            let error = Some("Wrong user name or password.");
            login_page(&app, &session, &next, error, StatusCode::FORBIDDEN).await
        }
        Err(LoginError::Throttled(wait)) => too_many_attempts(wait),
        Err(LoginError::Unavailable(e)) => server_error(&e),
    }
}

/// `POST`: signs out.
pub(super) async fn logout(State(app): State<App>, request: Request) -> Response {
    let request = match read(request).await {
        Ok(request) => request,
        Err(too_large) => return too_large,
    };
    let csrf = Params::parse(request.body())
        .ok()
        .map(|form| field(&form, "csrf").to_owned())
        .unwrap_or_default();
    match app.sessions.read(request.headers()) {
        Some(session) if app.sessions.check_csrf(&session, &["logout"], &csrf) => {
            let mut response = see_other(&app.url(&app.paths.home));
            app.sessions.clear_cookie(response.headers_mut());
            response
        }
        _ => form_not_accepted(),
    }
}

/// `GET`: who is signed in, and where things are.
pub(super) async fn home(State(app): State<App>, request: Request) -> Response {
    let session = app.sessions.read(request.headers());
    let metadata = app.server.metadata_url();
    let status = match session.as_ref().and_then(|s| Some((s, s.user()?))) {
        Some((session, user)) => format!(
            "<p>Signed in as <strong>{user}</strong>.</p>\
             <form method=\"post\" action=\"{action}\">{csrf}\
             <p><button type=\"submit\">Sign out</button></p></form>",
            user = escape(user),
            action = escape(&app.paths.logout),
            csrf = hidden("csrf", &app.sessions.csrf(session, &["logout"])),
        ),
        None => format!(
            "<p>Not signed in. <a href=\"{login}\">Sign in</a>.</p>",
            login = escape(&app.paths.login),
        ),
    };
    let body = format!(
        "{status}<p>Applications send you here to approve their access; devices send \
         you to <a href=\"{device}\">the device page</a>.</p>\
         <p>Server metadata: <a href=\"{metadata}\">{metadata}</a></p>",
        device = escape(&app.paths.device),
        metadata = escape(metadata.as_str()),
    );
    page(
        StatusCode::OK,
        "portcullis example authorization server",
        &body,
    )
}

/// `403` for a form that did not come from a page of this server in this
/// browser, or came back after its session ended.
pub(super) fn form_not_accepted() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Form not accepted",
        "This form was not sent from this site, or your session has expired. \
         Start again from the application.",
    )
}
