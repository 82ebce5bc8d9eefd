//! The pages people see: plain HTML, no scripts, no styles, no third-party
//! resources, everything from the request or the store escaped.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use http::header::{self, HeaderValue};
use portcullis::client::Client;
use portcullis::endpoint::secure_page_headers;
use portcullis::protocol::{Params, Scope};

/// Nothing but the page itself and its forms: no scripts, styles, images or
/// frames, and no `<base>` to redirect relative URLs. `form-action` is left
/// out on purpose: browsers apply it to the redirect that follows the consent
/// form, which goes to the client.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Escapes text for HTML element content and quoted attribute values: the
/// library's escaper, the one its form_post page uses.
pub(super) use portcullis::endpoint::html_escape as escape;

/// A hidden form field.
pub(super) fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// A paragraph with `message`, if there is one.
pub(super) fn notice(message: Option<&str>) -> String {
    message.map_or_else(String::new, |m| {
        format!("<p role=\"alert\"><strong>{}</strong></p>", escape(m))
    })
}

/// A form field, or `""` when missing or repeated.
pub(super) fn field<'a>(form: &'a Params<'_>, name: &str) -> &'a str {
    form.get(name).ok().flatten().unwrap_or_default()
}

/// Who asks for what, for the user to judge before deciding.
pub(super) fn access_request(client: &Client, scope: &Scope) -> String {
    let name = escape(client.name().unwrap_or("An unnamed application"));
    let id = escape(client.id().as_str());
    let mut items: String = scope
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    if items.is_empty() {
        items.push_str("<li>nothing in particular</li>");
    }
    // RFC 7591 §5: a self-registered client's name is only its own claim.
    let self_registered = if client.registration_access_token_hash().is_some() {
        "<p>This application registered itself: its name is not verified.</p>"
    } else {
        ""
    };
    format!(
        "<p><strong>{name}</strong> (client <code>{id}</code>) asks for access \
         to your account:</p><ul>{items}</ul>{self_registered}"
    )
}

/// A page: `title` is text (escaped here), `body` is HTML its caller built
/// from escaped parts. With the secure page headers (no framing, no referrer,
/// no caching) and a strict content security policy.
pub(super) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let title = escape(title);
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    );
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
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

/// `303 See Other` to `location`, after a form: the browser follows with a
/// `GET`, so reloading the next page posts nothing again.
pub(super) fn see_other(location: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure_page_headers(response.headers_mut());
    response
}

/// A page with one message.
pub(super) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, &format!("<p>{}</p>", escape(text)))
}

/// `429` after too many failed attempts, with `Retry-After`.
pub(super) fn too_many_attempts(retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs().max(1);
    let mut response = message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        &format!("Too many failed attempts. Try again in {seconds} seconds."),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// `500`, saying nothing of why to the browser; the operator's log says.
pub(super) fn server_error(cause: &dyn std::error::Error) -> Response {
    tracing::error!(error = %cause, "request failed");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not handle the request. Try again later.",
    )
}
