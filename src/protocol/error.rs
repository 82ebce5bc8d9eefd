//! OAuth error codes and the one mapping from an error to the wire.
//!
//! Error codes form an open set (RFC 6749 §4.1.2.1, §5.2, §8.5; RFC 6750 §3.1):
//! [`ErrorCode`] has a constant for each registered value and accepts extension
//! values. [`ErrorResponse`] is the rendered error — status, JSON body and headers —
//! and [`ErrorResponse::into_http`] is the only place an error becomes an HTTP
//! response, so the headers every error needs cannot be forgotten by one path.
//!
//! `error_description` is written for the client's developer and never carries
//! internal detail: a storage failure is `server_error` with no description.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

/// An OAuth error code (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ErrorCode(Cow<'static, str>);

impl ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    pub const INVALID_REQUEST: Self = Self(Cow::Borrowed("invalid_request"));
    /// Client authentication failed (RFC 6749 §5.2).
    pub const INVALID_CLIENT: Self = Self(Cow::Borrowed("invalid_client"));
    /// The grant (code, refresh token, credentials) is invalid, expired or revoked.
    pub const INVALID_GRANT: Self = Self(Cow::Borrowed("invalid_grant"));
    /// The client may not use this grant type or response type.
    pub const UNAUTHORIZED_CLIENT: Self = Self(Cow::Borrowed("unauthorized_client"));
    /// The grant type is not supported by this server.
    pub const UNSUPPORTED_GRANT_TYPE: Self = Self(Cow::Borrowed("unsupported_grant_type"));
    /// The requested scope is invalid, unknown, or exceeds what is allowed.
    pub const INVALID_SCOPE: Self = Self(Cow::Borrowed("invalid_scope"));
    /// The resource owner or the server denied the request (RFC 6749 §4.1.2.1).
    pub const ACCESS_DENIED: Self = Self(Cow::Borrowed("access_denied"));
    /// The response type is not supported (RFC 6749 §4.1.2.1).
    pub const UNSUPPORTED_RESPONSE_TYPE: Self = Self(Cow::Borrowed("unsupported_response_type"));
    /// The server met an unexpected condition.
    pub const SERVER_ERROR: Self = Self(Cow::Borrowed("server_error"));
    /// The server is temporarily unable to handle the request.
    pub const TEMPORARILY_UNAVAILABLE: Self = Self(Cow::Borrowed("temporarily_unavailable"));
    /// The access token is expired, revoked, malformed or invalid (RFC 6750 §3.1).
    pub const INVALID_TOKEN: Self = Self(Cow::Borrowed("invalid_token"));
    /// The token lacks the scope the resource requires (RFC 6750 §3.1).
    pub const INSUFFICIENT_SCOPE: Self = Self(Cow::Borrowed("insufficient_scope"));
    /// The user has not yet decided on the device authorization; keep polling
    /// (RFC 8628 §3.5).
    pub const AUTHORIZATION_PENDING: Self = Self(Cow::Borrowed("authorization_pending"));
    /// Still pending, and the client polls too often: the polling interval
    /// grows by 5 seconds (RFC 8628 §3.5).
    pub const SLOW_DOWN: Self = Self(Cow::Borrowed("slow_down"));
    /// The device code expired; the device authorization is over (RFC 8628
    /// §3.5).
    pub const EXPIRED_TOKEN: Self = Self(Cow::Borrowed("expired_token"));
    /// A redirect URI in a registration is invalid (RFC 7591 §3.2.2).
    pub const INVALID_REDIRECT_URI: Self = Self(Cow::Borrowed("invalid_redirect_uri"));
    /// Registered client metadata is invalid (RFC 7591 §3.2.2).
    pub const INVALID_CLIENT_METADATA: Self = Self(Cow::Borrowed("invalid_client_metadata"));

    /// A `resource` that is unknown, malformed or not allowed (RFC 8707 §2).
    pub const INVALID_TARGET: Self = Self(Cow::Borrowed("invalid_target"));

    /// `prompt=none`, and the End-User is not signed in (OpenID Connect
    /// Core 1.0 §3.1.2.6).
    pub const LOGIN_REQUIRED: Self = Self(Cow::Borrowed("login_required"));

    /// `prompt=none`, and the End-User has not consented (Core §3.1.2.6).
    pub const CONSENT_REQUIRED: Self = Self(Cow::Borrowed("consent_required"));

    /// `prompt=none`, and some page would have to be shown (Core §3.1.2.6).
    pub const INTERACTION_REQUIRED: Self = Self(Cow::Borrowed("interaction_required"));

    /// `prompt=none`, and the End-User would have to pick an account (Core
    /// §3.1.2.6).
    pub const ACCOUNT_SELECTION_REQUIRED: Self = Self(Cow::Borrowed("account_selection_required"));

    /// The `request` parameter (a request object) is not supported (Core
    /// §3.1.2.6).
    pub const REQUEST_NOT_SUPPORTED: Self = Self(Cow::Borrowed("request_not_supported"));

    /// The `request_uri` parameter is not supported (Core §3.1.2.6).
    pub const REQUEST_URI_NOT_SUPPORTED: Self = Self(Cow::Borrowed("request_uri_not_supported"));

    /// The `authorization_details` are malformed, of an unknown type, of a
    /// type the client may not use, or refused by the type's validator
    /// (RFC 9396 §5, §6.2).
    pub const INVALID_AUTHORIZATION_DETAILS: Self =
        Self(Cow::Borrowed("invalid_authorization_details"));

    /// The `request_uri` is unknown, expired, already used, or another
    /// client's (RFC 9101 §7; RFC 9126 §4).
    pub const INVALID_REQUEST_URI: Self = Self(Cow::Borrowed("invalid_request_uri"));

    /// The request object is invalid: its signature, algorithm or claims
    /// (RFC 9101 §7).
    pub const INVALID_REQUEST_OBJECT: Self = Self(Cow::Borrowed("invalid_request_object"));

    /// The `registration` parameter is not supported (Core §3.1.2.6).
    pub const REGISTRATION_NOT_SUPPORTED: Self = Self(Cow::Borrowed("registration_not_supported"));

    /// The DPoP proof is invalid (RFC 9449 §5, §7.1).
    pub const INVALID_DPOP_PROOF: Self = Self(Cow::Borrowed("invalid_dpop_proof"));

    /// The server requires a DPoP nonce: retry with the one in the
    /// `DPoP-Nonce` header (RFC 9449 §8, §9).
    pub const USE_DPOP_NONCE: Self = Self(Cow::Borrowed("use_dpop_nonce"));

    /// An extension error code (RFC 6749 §8.5).
    ///
    /// Returns `None` unless the code is 1*( %x20-21 / %x23-5B / %x5D-7E ), the
    /// characters RFC 6749 §5.2 allows.
    pub fn extension(code: impl Into<String>) -> Option<Self> {
        let code = code.into();
        (!code.is_empty() && is_nqschar_text(&code)).then_some(Self(Cow::Owned(code)))
    }

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The HTTP status an error with this code gets unless the endpoint says
    /// otherwise (RFC 6749 §5.2: 400; RFC 6750 §3.1: 401 and 403).
    pub fn default_status(&self) -> StatusCode {
        match self.as_str() {
            "invalid_client" | "invalid_token" => StatusCode::UNAUTHORIZED,
            "insufficient_scope" => StatusCode::FORBIDDEN,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `%x20-21 / %x23-5B / %x5D-7E`: the characters allowed in `error` and
/// `error_description` (RFC 6749 §5.2). No quote, no backslash, no control.
fn is_nqschar_text(s: &str) -> bool {
    s.bytes().all(|b| {
        (0x20..=0x21).contains(&b) || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
    })
}

/// An OAuth error: a code and an optional human-readable description.
///
/// This is what a grant handler or other extension returns; the endpoint turns it
/// into an [`ErrorResponse`].
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: Option<Cow<'static, str>>,
}

impl OAuthError {
    /// An error with a code and no description.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
        }
    }

    /// Adds a description for the client's developer.
    ///
    /// Characters RFC 6749 §5.2 does not allow (quotes, backslashes, control
    /// characters, non-ASCII) are replaced with `?`. The description must never
    /// carry a secret or internal detail.
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        let description = description.into();
        self.description = Some(if is_nqschar_text(&description) {
            description
        } else {
            Cow::Owned(
                description
                    .chars()
                    .map(|c| {
                        if c.is_ascii() && is_nqschar_text(c.encode_utf8(&mut [0; 4])) {
                            c
                        } else {
                            '?'
                        }
                    })
                    .collect(),
            )
        });
        self
    }

    /// The error code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

impl fmt::Debug for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {d}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for OAuthError {}

/// An error rendered for the wire: status, JSON body and headers
/// (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub struct ErrorResponse {
    status: StatusCode,
    error: OAuthError,
    www_authenticate: Option<HeaderValue>,
    retry_after: Option<Duration>,
    allow: Option<HeaderValue>,
    dpop_nonce: Option<HeaderValue>,
}

impl ErrorResponse {
    /// An error response with the code's default status.
    pub fn new(error: OAuthError) -> Self {
        Self {
            status: error.code().default_status(),
            error,
            www_authenticate: None,
            retry_after: None,
            dpop_nonce: None,
            allow: None,
        }
    }

    /// Overrides the status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds a `WWW-Authenticate` challenge (RFC 6749 §5.2, RFC 6750 §3).
    pub fn with_challenge(mut self, challenge: HeaderValue) -> Self {
        self.www_authenticate = Some(challenge);
        self
    }

    /// Adds `Retry-After`, in whole seconds rounded up.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Adds `Allow` (for 405 Method Not Allowed).
    pub fn with_allow(mut self, allow: HeaderValue) -> Self {
        self.allow = Some(allow);
        self
    }

    /// Adds `DPoP-Nonce`: the nonce the client must put in its next DPoP
    /// proof (RFC 9449 §8.1).
    pub fn with_dpop_nonce(mut self, nonce: HeaderValue) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    /// `DPoP-Nonce`, if any (RFC 9449 §8.1).
    pub fn dpop_nonce(&self) -> Option<&HeaderValue> {
        self.dpop_nonce.as_ref()
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The OAuth error.
    pub fn error(&self) -> &OAuthError {
        &self.error
    }

    /// The `WWW-Authenticate` challenge, if any.
    pub fn challenge(&self) -> Option<&HeaderValue> {
        self.www_authenticate.as_ref()
    }

    /// `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The JSON body: `{"error": …, "error_description": …}`.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            error: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_description: Option<&'a str>,
        }
        serde_json::to_vec(&Body {
            error: self.error.code().as_str(),
            error_description: self.error.description(),
        })
        // Serialising two strings into a Vec cannot fail.
        .unwrap_or_default()
    }

    /// Renders the response: the status, `Content-Type: application/json`,
    /// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1, §5.2), and
    /// the challenge, `Retry-After` and `Allow` headers when set.
    pub fn into_http(self) -> Response<Vec<u8>> {
        let body = self.to_json();
        let mut response = json_response(self.status, body);
        let headers = response.headers_mut();
        if let Some(challenge) = self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(after) = self.retry_after {
            let secs = after
                .as_secs()
                .saturating_add(u64::from(after.subsec_nanos() > 0));
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, allow);
        }
        if let Some(nonce) = self.dpop_nonce {
            headers.insert(http::HeaderName::from_static("dpop-nonce"), nonce);
        }
        response
    }
}

/// The refusals every endpoint shares, each written once.
impl ErrorResponse {
    /// `code` with a description, at the code's default status.
    pub(crate) fn described(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthError::new(code).with_description(description))
    }

    /// `405` `invalid_request` with the `Allow` header a 405 must carry
    /// (RFC 9110 §15.5.6).
    pub(crate) fn method_not_allowed(
        description: impl Into<Cow<'static, str>>,
        allow: &'static str,
    ) -> Self {
        Self::described(ErrorCode::INVALID_REQUEST, description)
            .with_status(StatusCode::METHOD_NOT_ALLOWED)
            .with_allow(HeaderValue::from_static(allow))
    }

    /// `413` `invalid_request`: the body is over the server's limit.
    pub(crate) fn body_too_large() -> Self {
        Self::described(ErrorCode::INVALID_REQUEST, "the request body is too large")
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    }

    /// A bare `server_error`: the client learns nothing of the cause.
    pub(crate) fn server_error() -> Self {
        Self::new(OAuthError::new(ErrorCode::SERVER_ERROR))
    }
}

/// A JSON response with the no-store headers every token-endpoint response
/// carries (RFC 6749 §5.1).
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    // Copying a built map is cheaper than building one: no hashing, no probing.
    response.headers_mut().clone_from(&JSON_HEADERS);
    response
}

/// A document the server publishes — its metadata, its key set — as the
/// answer to `method`: `200` with `body`, `content_type`, `cache_control`
/// and the body's `Content-Length` (the body itself left out for `HEAD`);
/// any method but `GET` and `HEAD` gets `405` with `Allow: GET, HEAD` and
/// `refusal` as its description.
pub(crate) fn published_document(
    method: &http::Method,
    refusal: &'static str,
    body: impl FnOnce() -> Vec<u8>,
    content_type: &'static str,
    cache_control: HeaderValue,
) -> Response<Vec<u8>> {
    if method != http::Method::GET && method != http::Method::HEAD {
        return ErrorResponse::method_not_allowed(refusal, "GET, HEAD").into_http();
    }
    document_response(
        body(),
        method == http::Method::HEAD,
        content_type,
        cache_control,
    )
}

/// `200` with `body` (or, for `head`, none but its `Content-Length`),
/// `content_type` and `cache_control`.
pub(crate) fn document_response(
    body: Vec<u8>,
    head: bool,
    content_type: &'static str,
    cache_control: HeaderValue,
) -> Response<Vec<u8>> {
    let length = body.len();
    let mut response = Response::new(if head { Vec::new() } else { body });
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, cache_control);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The headers of every JSON response.
static JSON_HEADERS: LazyLock<HeaderMap> = LazyLock::new(|| {
    // Room for these three and a `WWW-Authenticate` or `Retry-After`.
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(&mut headers);
    headers
});

/// A response with no body and the no-store headers: a revocation's `200`
/// (RFC 7009 §2.2), a deleted registration's `204` (RFC 7592 §2.3).
pub(crate) fn empty_response(status: StatusCode) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = status;
    no_store(response.headers_mut());
    response
}

/// `Cache-Control: no-store` and, for HTTP/1.0 caches, `Pragma: no-cache`
/// (RFC 6749 §5.1).
fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_codes_are_validated() {
        assert!(ErrorCode::extension("authorization_pending").is_some());
        assert!(ErrorCode::extension("bad\"code").is_none());
        assert!(ErrorCode::extension("").is_none());
    }

    #[test]
    fn description_is_sanitised() {
        let e = OAuthError::new(ErrorCode::INVALID_REQUEST).with_description("a \"quoted\"\n é");
        assert_eq!(e.description(), Some("a ?quoted?? ?"));
    }

    #[test]
    fn rendering_carries_the_headers() {
        let r = ErrorResponse::new(OAuthError::new(ErrorCode::INVALID_CLIENT))
            .with_challenge(HeaderValue::from_static("Basic realm=\"x\""))
            .with_retry_after(Duration::from_millis(1500))
            .into_http();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.headers()["pragma"], "no-cache");
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"x\"");
        assert_eq!(r.body(), br#"{"error":"invalid_client"}"#);
    }
}
