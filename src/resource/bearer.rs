//! Finding the bearer token in a request (RFC 6750 §2).

use std::borrow::Cow;
use std::fmt;

use crate::token::ClientCertificate;
use http::header::{self, HeaderMap};
use http::request::Parts;
use http::{Method, Request, Uri};

use super::{BearerErrorKind, InvalidRequest};
use crate::protocol::{
    BearerCredential, MAX_TOKEN_LEN, Params, bearer_credential, dpop_credential,
};

/// Where a request carried its access token (RFC 6750 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenLocation {
    /// `Authorization: Bearer <token>` (§2.1): always accepted.
    AuthorizationHeader,
    /// `access_token` in an `application/x-www-form-urlencoded` body (§2.2):
    /// accepted only with
    /// [`BearerValidator::accept_form_body`](super::BearerValidator::accept_form_body).
    FormBody,
    /// `access_token` in the URI query (§2.3): accepted only with
    /// [`BearerValidator::dangerous_accept_uri_query`](super::BearerValidator::dangerous_accept_uri_query).
    UriQuery,
}

/// The parts of an HTTP request a bearer token can travel in: method, URI,
/// headers, and the body if the host has it in memory.
///
/// Made from `&http::request::Parts` or `&http::Request<B>` (with its body,
/// when `B: AsRef<[u8]>`), so a host can call the validator from any
/// framework's middleware — with the body only if it accepts tokens there.
///
/// `Debug` shows the method, the path and header names, never header values
/// or the query (both may carry a token, RFC 6819 §4.6.7).
#[derive(Clone, Copy)]
pub struct BearerRequest<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: Option<&'a [u8]>,
    certificate: Option<&'a ClientCertificate>,
}

impl<'a> BearerRequest<'a> {
    /// A request from its method, URI and headers, without a body.
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        Self {
            method,
            uri,
            headers,
            body: None,
            certificate: None,
        }
    }

    /// A request from its head, without a body, with the
    /// [`ClientCertificate`] in its extensions, if any.
    pub fn from_parts(parts: &'a Parts) -> Self {
        Self::new(&parts.method, &parts.uri, &parts.headers)
            .with_certificate(parts.extensions.get::<ClientCertificate>())
    }

    /// With the client certificate of the request's mutual-TLS connection,
    /// as the host's TLS layer handed it over: a certificate-bound token
    /// (`cnf.x5t#S256`) is accepted only with the certificate it is bound
    /// to (RFC 8705 §3).
    pub fn with_certificate(mut self, certificate: Option<&'a ClientCertificate>) -> Self {
        self.certificate = certificate;
        self
    }

    /// The client certificate of the request's connection, if any.
    pub(crate) fn certificate(&self) -> Option<&'a ClientCertificate> {
        self.certificate
    }

    /// The request's method.
    pub(crate) fn method(&self) -> &'a Method {
        self.method
    }

    /// The request's URI.
    pub(crate) fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request's headers.
    pub(crate) fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// Adds the request body, read by the validator only if it accepts tokens
    /// in a form body and the request qualifies (RFC 6750 §2.2).
    pub fn with_body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }
}

impl<'a> From<&'a Parts> for BearerRequest<'a> {
    fn from(parts: &'a Parts) -> Self {
        Self::from_parts(parts)
    }
}

impl<'a, B: AsRef<[u8]>> From<&'a Request<B>> for BearerRequest<'a> {
    fn from(request: &'a Request<B>) -> Self {
        Self::new(request.method(), request.uri(), request.headers())
            .with_body(request.body().as_ref())
            .with_certificate(request.extensions().get::<ClientCertificate>())
    }
}

impl fmt::Debug for BearerRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerRequest")
            .field("method", self.method)
            .field("path", &self.uri.path())
            .field("headers", &crate::protocol::HeaderNames(self.headers))
            .field("body", &self.body.map(<[u8]>::len))
            .finish()
    }
}

/// An access token as presented in a request, and where it was.
///
/// A secret: `Debug` shows only its location, and the value comes out only
/// through [`expose_secret`](Self::expose_secret).
pub struct BearerToken<'a> {
    value: Cow<'a, str>,
    location: TokenLocation,
    dpop: bool,
}

impl BearerToken<'_> {
    /// The token. Call it only to look the token up.
    pub fn expose_secret(&self) -> &str {
        &self.value
    }

    /// Where it was.
    pub fn location(&self) -> TokenLocation {
        self.location
    }

    /// Whether it came as `Authorization: DPoP` (RFC 9449 §7.1), with a
    /// proof to check, rather than as a bearer token.
    pub fn is_dpop(&self) -> bool {
        self.dpop
    }
}

impl fmt::Debug for BearerToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("value", &"[redacted]")
            .field("location", &self.location)
            .finish()
    }
}

/// Which methods besides the header a resource server accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) form_body: bool,
    pub(crate) uri_query: bool,
    /// `Authorization: DPoP` (RFC 9449 §7.1).
    pub(crate) dpop: bool,
}

/// `application/x-www-form-urlencoded`, with any parameters; exactly one
/// `Content-Type` header.
fn is_form(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let media_type = value
        .as_bytes()
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default();
    media_type
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
}

/// RFC 6750 §2.2: the body method only with a method whose body has defined
/// semantics — never GET (or HEAD, DELETE, …).
fn body_has_semantics(method: &Method) -> bool {
    *method == Method::POST || *method == Method::PUT || *method == Method::PATCH
}

/// An `access_token` parameter found in a query or body.
enum Param<'a> {
    Absent,
    /// Present, but the method is not accepted: not read further.
    Unaccepted,
    Present(Cow<'a, str>),
}

/// Looks for `access_token` in form-encoded `input`. When the location is not
/// accepted, a malformed form or a repeated parameter is not this resource
/// server's business; only the parameter's presence is.
fn form_param(input: &[u8], accepted: bool) -> Result<Param<'_>, InvalidRequest> {
    let params = match Params::parse(input) {
        Ok(params) => params,
        Err(_) if accepted => return Err(InvalidRequest::MalformedForm),
        Err(_) => return Ok(Param::Absent),
    };
    if !params.contains("access_token") {
        return Ok(Param::Absent);
    }
    if !accepted {
        return Ok(Param::Unaccepted);
    }
    let value = params
        .get("access_token")
        .map_err(|_| InvalidRequest::RepeatedParameter)?
        .ok_or(InvalidRequest::MalformedForm)?;
    if value.len() > MAX_TOKEN_LEN {
        return Err(InvalidRequest::MalformedCredentials);
    }
    Ok(Param::Present(Cow::Owned(value.to_owned())))
}

/// Finds the one bearer token in `request` (RFC 6750 §2).
///
/// All three locations are examined whatever is accepted, so a request using
/// two methods is `invalid_request` (§2: clients MUST NOT) even if one of them
/// is not accepted here. A body is examined only when it qualifies for §2.2
/// (a form content type, a method with body semantics); any other body is the
/// resource's own content, where `access_token` means nothing.
pub(crate) fn extract<'a>(
    request: &BearerRequest<'a>,
    accepted: Accepted,
) -> Result<BearerToken<'a>, BearerErrorKind> {
    let invalid = BearerErrorKind::InvalidRequest;
    let mut dpop = false;
    let header = match bearer_credential(request.headers, MAX_TOKEN_LEN) {
        BearerCredential::Absent if accepted.dpop => {
            match dpop_credential(request.headers, MAX_TOKEN_LEN) {
                BearerCredential::Absent => None,
                BearerCredential::Token(token) => {
                    dpop = true;
                    Some(token)
                }
                BearerCredential::Repeated => {
                    return Err(invalid(InvalidRequest::RepeatedAuthorization));
                }
                BearerCredential::Malformed => {
                    return Err(invalid(InvalidRequest::MalformedCredentials));
                }
            }
        }
        BearerCredential::Absent => None,
        BearerCredential::Token(token) => Some(token),
        BearerCredential::Repeated => return Err(invalid(InvalidRequest::RepeatedAuthorization)),
        BearerCredential::Malformed => return Err(invalid(InvalidRequest::MalformedCredentials)),
    };
    let query = match request.uri.query() {
        Some(query) => form_param(query.as_bytes(), accepted.uri_query).map_err(invalid)?,
        None => Param::Absent,
    };
    let body = match request.body {
        Some(body) if body_has_semantics(request.method) && is_form(request.headers) => {
            let param = form_param(body, accepted.form_body).map_err(invalid)?;
            if matches!(param, Param::Present(_)) && !body.is_ascii() {
                return Err(invalid(InvalidRequest::BodyNotAscii));
            }
            param
        }
        _ => Param::Absent,
    };

    let methods = usize::from(header.is_some())
        + usize::from(!matches!(query, Param::Absent))
        + usize::from(!matches!(body, Param::Absent));
    if methods > 1 {
        return Err(invalid(InvalidRequest::MultipleMethods));
    }
    if let Some(token) = header {
        return Ok(BearerToken {
            value: Cow::Borrowed(token),
            location: TokenLocation::AuthorizationHeader,
            dpop,
        });
    }
    for (param, location) in [
        (query, TokenLocation::UriQuery),
        (body, TokenLocation::FormBody),
    ] {
        match param {
            Param::Absent => {}
            Param::Unaccepted => return Err(BearerErrorKind::MethodNotAccepted(location)),
            Param::Present(value) => {
                return Ok(BearerToken {
                    value,
                    location,
                    dpop: false,
                });
            }
        }
    }
    Err(BearerErrorKind::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_token() {
        let request = Request::get("/r?access_token=sekrit")
            .header("authorization", "Bearer sekrit")
            .body(Vec::new())
            .unwrap();
        let shown = format!("{:?}", BearerRequest::from(&request));
        assert!(shown.contains("authorization"), "{shown}");
        assert!(!shown.contains("sekrit"), "{shown}");
        let token = extract(&BearerRequest::from(&request), Accepted::default());
        assert!(token.is_err());
        let request = Request::get("/r")
            .header("authorization", "Bearer sekrit")
            .body(Vec::new())
            .unwrap();
        let token = extract(&BearerRequest::from(&request), Accepted::default()).unwrap();
        assert_eq!(token.expose_secret(), "sekrit");
        assert!(!format!("{token:?}").contains("sekrit"));
    }
}
