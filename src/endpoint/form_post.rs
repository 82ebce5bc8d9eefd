//! The checks every direct request to the server shares — the token, device
//! authorization, revocation and introspection endpoints: a POST with a form
//! body of bounded size, and no client credential in the URI (RFC 6749
//! §2.3.1, §3.2; RFC 8628 §3.1; RFC 7009 §2.1; RFC 7662 §2.1). A refusal is a
//! [`RequestError`], which every one of those endpoints answers alike.

use std::fmt;

use http::header::HeaderMap;
use http::{Method, Request};

use super::content_type::is_media_type;
use crate::client::{AuthRequest, ClientAuthError, ThrottleSource};
use crate::grant::RequestError;
use crate::protocol::{HeaderNames, Params};
use crate::token::ClientCertificate;

/// What a direct request carries: its form parameters, its headers (for
/// `Authorization`), and where it comes from, if the host said. The token,
/// revocation and introspection endpoints' public request types wrap it.
pub(crate) struct FormRequest<'a> {
    pub(crate) params: Params<'a>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) source: Option<ThrottleSource>,
    /// The client certificate of the connection (RFC 8705 §2).
    pub(crate) certificate: Option<ClientCertificate>,
}

impl<'a> FormRequest<'a> {
    /// A request from parameters the host parsed, with no source.
    pub(crate) fn new(params: Params<'a>, headers: &'a HeaderMap) -> Self {
        Self {
            params,
            headers,
            source: None,
            certificate: None,
        }
    }

    /// Checks and parses an HTTP request ([`read_form_post`]), taking its
    /// [`ThrottleSource`] from the request's extensions.
    pub(crate) fn from_http<B: AsRef<[u8]>>(
        request: &'a Request<B>,
        max_body: usize,
        endpoint: &'static str,
    ) -> Result<Self, RequestError> {
        Ok(Self {
            params: read_form_post(request, max_body, endpoint)?,
            headers: request.headers(),
            source: request.extensions().get::<ThrottleSource>().cloned(),
            certificate: request.extensions().get::<ClientCertificate>().cloned(),
        })
    }

    /// What client authentication reads of the request.
    pub(crate) fn auth_request(&self) -> AuthRequest<'_> {
        AuthRequest::new(self.headers, &self.params)
            .with_source(self.source.as_ref())
            .with_certificate(self.certificate.as_ref())
    }

    /// `Debug` under `name`, with parameter and header names only: values
    /// carry tokens and credentials (RFC 6819 §4.6.7).
    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("params", &self.params)
            .field("headers", &HeaderNames(self.headers))
            .finish()
    }
}

/// Parameters that carry a client credential and so must never be in the URI
/// (RFC 6749 §2.3.1; RFC 7521 §4.2 for assertions).
const CREDENTIAL_PARAMS: [&str; 2] = ["client_secret", "client_assertion"];

/// Checks a direct request and parses its form body, in this order:
///
/// - the method is POST;
/// - the body is at most `max_body` bytes;
/// - the content type is `application/x-www-form-urlencoded`, in UTF-8;
/// - no client credential is in the query string (RFC 6749 §2.3.1);
/// - the body is well-formed (strictly percent-decoded, UTF-8).
///
/// Parameters in the query string are otherwise never read. `endpoint` names
/// the endpoint in a `405`'s description (`"token endpoint"`).
pub(crate) fn read_form_post<'r, B: AsRef<[u8]>>(
    request: &'r Request<B>,
    max_body: usize,
    endpoint: &'static str,
) -> Result<Params<'r>, RequestError> {
    if request.method() != Method::POST {
        return Err(RequestError::MethodNotAllowed { endpoint });
    }
    let body = request.body().as_ref();
    if body.len() > max_body {
        return Err(RequestError::BodyTooLarge);
    }
    if !is_media_type(request.headers(), "application/x-www-form-urlencoded") {
        return Err(RequestError::UnsupportedContentType);
    }
    if let Some(query) = request.uri().query() {
        let query = Params::parse(query.as_bytes()).map_err(RequestError::MalformedRequest)?;
        if CREDENTIAL_PARAMS.iter().any(|p| query.contains(p)) {
            // A malformed request (`invalid_request`), so no challenge.
            return Err(RequestError::ClientAuth {
                error: ClientAuthError::CredentialsInUri,
                challenge: None,
            });
        }
    }
    Params::parse(body).map_err(RequestError::MalformedRequest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::FormError;

    fn post(uri: &str, content_type: Option<&str>, body: &str) -> Request<Vec<u8>> {
        let mut b = Request::post(uri);
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn checks_in_order() {
        let get = Request::get("/x").body(Vec::new()).unwrap();
        assert!(matches!(
            read_form_post(&get, 10, "x endpoint"),
            Err(RequestError::MethodNotAllowed {
                endpoint: "x endpoint"
            })
        ));
        assert!(matches!(
            read_form_post(&post("/x", None, "a=bbbbbbbbbbbb"), 10, "x endpoint"),
            Err(RequestError::BodyTooLarge)
        ));
        assert!(matches!(
            read_form_post(
                &post("/x", Some("application/json"), "{}"),
                10,
                "x endpoint"
            ),
            Err(RequestError::UnsupportedContentType)
        ));
        assert!(matches!(
            read_form_post(&post("/x?client_secret=s", FORM, "a=b"), 10, "x endpoint"),
            Err(RequestError::ClientAuth {
                error: ClientAuthError::CredentialsInUri,
                challenge: None
            })
        ));
        assert!(matches!(
            read_form_post(&post("/x?a=%zz", FORM, "a=b"), 10, "x endpoint"),
            Err(RequestError::MalformedRequest(
                FormError::BadPercentEncoding
            ))
        ));
        assert!(matches!(
            read_form_post(&post("/x", FORM, "a=%FF"), 10, "x endpoint"),
            Err(RequestError::MalformedRequest(FormError::NotUtf8))
        ));
        let request = post("/x?token=ignored", FORM, "a=b");
        let params = read_form_post(&request, 10, "x endpoint").unwrap();
        assert_eq!(params.get("a").unwrap(), Some("b"));
        assert!(!params.contains("token"), "the query is never read");
    }
}
