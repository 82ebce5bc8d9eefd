//! The checks every direct request to the server shares — the token, device
//! authorization, revocation and introspection endpoints: a POST with a form
//! body of bounded size, and no client credential in the URI (RFC 6749
//! §2.3.1, §3.2; RFC 8628 §3.1; RFC 7009 §2.1; RFC 7662 §2.1) — and the
//! wire form of each refusal, which every one of those endpoints gives.

use http::{Method, Request};

use super::content_type::is_media_type;
use crate::protocol::{ErrorCode, ErrorResponse, FormError, Params};

/// Parameters that carry a client credential and so must never be in the URI
/// (RFC 6749 §2.3.1; RFC 7521 §4.2 for assertions).
const CREDENTIAL_PARAMS: [&str; 2] = ["client_secret", "client_assertion"];

/// Why a direct request was refused before its parameters were read. Each
/// endpoint maps these to its own error type.
#[derive(Debug)]
pub(crate) enum FormPostError {
    /// Not a POST.
    MethodNotAllowed,
    /// Over the body size limit.
    BodyTooLarge,
    /// Not `application/x-www-form-urlencoded` in UTF-8.
    UnsupportedContentType,
    /// The query string or the body is malformed.
    Malformed(FormError),
    /// A client credential in the query string.
    CredentialsInUri,
}

/// Checks a direct request and parses its form body, in this order:
///
/// - the method is POST;
/// - the body is at most `max_body` bytes;
/// - the content type is `application/x-www-form-urlencoded`, in UTF-8;
/// - no client credential is in the query string (RFC 6749 §2.3.1);
/// - the body is well-formed (strictly percent-decoded, UTF-8).
///
/// Parameters in the query string are otherwise never read.
pub(crate) fn read_form_post<B: AsRef<[u8]>>(
    request: &Request<B>,
    max_body: usize,
) -> Result<Params<'_>, FormPostError> {
    if request.method() != Method::POST {
        return Err(FormPostError::MethodNotAllowed);
    }
    let body = request.body().as_ref();
    if body.len() > max_body {
        return Err(FormPostError::BodyTooLarge);
    }
    if !is_media_type(request.headers(), "application/x-www-form-urlencoded") {
        return Err(FormPostError::UnsupportedContentType);
    }
    if let Some(query) = request.uri().query() {
        let query = Params::parse(query.as_bytes()).map_err(FormPostError::Malformed)?;
        if CREDENTIAL_PARAMS.iter().any(|p| query.contains(p)) {
            return Err(FormPostError::CredentialsInUri);
        }
    }
    Params::parse(body).map_err(FormPostError::Malformed)
}

/// `invalid_request`: the body is not a UTF-8 form.
pub(crate) fn unsupported_content_type() -> ErrorResponse {
    ErrorResponse::described(
        ErrorCode::INVALID_REQUEST,
        "the request body must be application/x-www-form-urlencoded",
    )
}

/// `invalid_request` for a malformed form; a repeated parameter is named
/// (RFC 6749 §3.2: parameters MUST NOT be included more than once).
pub(crate) fn malformed(e: &FormError) -> ErrorResponse {
    let description = match e {
        FormError::Repeated(name) => format!("parameter {name} is repeated"),
        e => e.to_string(),
    };
    ErrorResponse::described(ErrorCode::INVALID_REQUEST, description)
}

/// `invalid_request` for a missing parameter.
pub(crate) fn missing(name: &str) -> ErrorResponse {
    ErrorResponse::described(
        ErrorCode::INVALID_REQUEST,
        format!("missing parameter {name}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
            read_form_post(&get, 10),
            Err(FormPostError::MethodNotAllowed)
        ));
        assert!(matches!(
            read_form_post(&post("/x", None, "a=bbbbbbbbbbbb"), 10),
            Err(FormPostError::BodyTooLarge)
        ));
        assert!(matches!(
            read_form_post(&post("/x", Some("application/json"), "{}"), 10),
            Err(FormPostError::UnsupportedContentType)
        ));
        assert!(matches!(
            read_form_post(&post("/x?client_secret=s", FORM, "a=b"), 10),
            Err(FormPostError::CredentialsInUri)
        ));
        assert!(matches!(
            read_form_post(&post("/x?a=%zz", FORM, "a=b"), 10),
            Err(FormPostError::Malformed(FormError::BadPercentEncoding))
        ));
        assert!(matches!(
            read_form_post(&post("/x", FORM, "a=%FF"), 10),
            Err(FormPostError::Malformed(FormError::NotUtf8))
        ));
        let request = post("/x?token=ignored", FORM, "a=b");
        let params = read_form_post(&request, 10).unwrap();
        assert_eq!(params.get("a").unwrap(), Some("b"));
        assert!(!params.contains("token"), "the query is never read");
    }
}
