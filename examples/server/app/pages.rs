//! The pages people see, from the templates in `templates/` (askama:
//! compiled in, everything auto-escaped): plain HTML, no scripts, no
//! styles, no third-party resources.

use std::time::Duration;

use askama::Template;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderValue};
use portcullis::client::Client;
use portcullis::endpoint::secure_page_headers;
use portcullis::protocol::Scope;

/// Nothing but the page itself and its forms: no scripts, styles, images or
/// frames, and no `<base>` to redirect relative URLs. `form-action` is left
/// out on purpose: browsers apply it to the redirect that follows the consent
/// form, which goes to the client.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Who asks for what, for the user to judge before deciding.
pub struct AccessRequest {
    client_name: String,
    client_id: String,
    scopes: Vec<String>,
    /// RFC 7591 §5: a self-registered client's name is only its own claim.
    self_registered: bool,
    /// A client ID metadata document's client: its name is its own claim
    /// too, and its identifier's host is what the user can check
    /// (draft-ietf-oauth-client-id-metadata-document-01 §6.4).
    from_document: bool,
}

impl AccessRequest {
    pub fn new(client: &Client, scope: &Scope) -> Self {
        Self {
            client_name: client.name().unwrap_or("An unnamed application").to_owned(),
            client_id: client.id().as_str().to_owned(),
            scopes: scope.iter().map(str::to_owned).collect(),
            self_registered: client.registration_access_token_hash().is_some(),
            from_document: ["https://", "http://"]
                .iter()
                .any(|scheme| client.id().as_str().starts_with(scheme)),
        }
    }
}

#[derive(Template)]
#[template(path = "login.html", config = "examples/server/askama.toml")]
pub struct Login<'a> {
    pub notice: Option<&'a str>,
    pub request: Option<AccessRequest>,
    /// The user name field's initial value: the request's `login_hint`.
    pub username: Option<&'a str>,
    pub device: bool,
    pub action: &'a str,
    pub csrf: &'a str,
    /// Where to go once signed in: `consent`, `device` or `home`.
    pub next: &'a str,
    pub handle: Option<&'a str>,
    pub user_code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html", config = "examples/server/askama.toml")]
pub struct Consent<'a> {
    pub notice: Option<&'a str>,
    pub user: &'a str,
    pub request: AccessRequest,
    pub redirect_uri: &'a str,
    pub action: &'a str,
    pub handle: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "device_code.html", config = "examples/server/askama.toml")]
pub struct DeviceCode<'a> {
    pub notice: Option<&'a str>,
    pub user: &'a str,
    pub action: &'a str,
    pub user_code: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "device_confirm.html", config = "examples/server/askama.toml")]
pub struct DeviceConfirm<'a> {
    pub notice: Option<&'a str>,
    pub request: AccessRequest,
    pub action: &'a str,
    pub user_code: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "sign_out.html", config = "examples/server/askama.toml")]
pub struct SignOut<'a> {
    pub notice: Option<&'a str>,
    pub user: &'a str,
    /// The relying party asking, when identified: its name (its own claim)
    /// and its identifier.
    pub client: Option<(&'a str, &'a str)>,
    pub action: &'a str,
    /// The logout request's parameters, re-posted.
    pub fields: Vec<(&'a str, &'a str)>,
    pub csrf: &'a str,
    pub sign_out: &'a str,
    pub stay: &'a str,
}

#[derive(Template)]
#[template(path = "home.html", config = "examples/server/askama.toml")]
pub struct Home<'a> {
    pub notice: Option<&'a str>,
    /// The user signed in, and the sign-out form's CSRF token.
    pub signed_in: Option<(&'a str, &'a str)>,
    /// The logout endpoint, and the answer its button posts.
    pub logout: &'a str,
    pub sign_out: &'a str,
    pub login: &'a str,
    pub device: &'a str,
    pub metadata: &'a str,
}

#[derive(Template)]
#[template(path = "message.html", config = "examples/server/askama.toml")]
struct Message<'a> {
    notice: Option<&'a str>,
    title: &'a str,
    text: &'a str,
}

/// A page, with the secure page headers (no framing, no referrer, no
/// caching: RFC 6819 §4.4.1.9) and the strict content security policy.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => return server_error(&e),
    };
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    secure_page_headers(headers);
    response
}

/// A page with one message.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let page = Message {
        notice: None,
        title,
        text,
    };
    render(status, &page)
}

/// `303 See Other` to `location`, after a form: the browser follows with a
/// `GET`, so reloading the next page posts nothing again.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure_page_headers(response.headers_mut());
    response
}

/// `429` after too many failed attempts, with `Retry-After`.
pub fn too_many_attempts(retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs().max(1);
    let text = format!("Too many failed attempts. Try again in {seconds} seconds.");
    let mut response = message(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", &text);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// `500`, saying nothing of why to the browser; the operator's log says.
pub fn server_error(cause: &dyn std::error::Error) -> Response {
    tracing::error!(error = %cause, "request failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not handle the request. Try again later.",
    )
}

/// `403` for a form that did not come from a page of this server in this
/// browser (RFC 6819 §4.4.1.8), or came back after its session ended.
pub fn form_not_accepted() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Form not accepted",
        "This form was not sent from this site, or your session has expired. \
         Start again from the application.",
    )
}

/// `400` for a form that is not `application/x-www-form-urlencoded`.
pub fn malformed_form() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "Bad request",
        "The form is malformed.",
    )
}

/// `400` for a request that was answered, or expired, before the decision.
pub fn not_pending() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "Request expired",
        "This authorization request was already answered, or has expired. \
         Start again from the application.",
    )
}
