//! Reading the credentials a client presents (RFC 6749 §2.3.1).

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use http::header::{self, HeaderMap};

use super::{AuthMethod, ClientAssertion, ClientAuthError, ClientSecret, ThrottleSource};
use crate::protocol::{Params, form_decode as decode};
use crate::token::ClientCertificate;

/// The longest `Authorization` header value read, in bytes.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// What a direct request to the server carries for client authentication.
///
/// `Debug` shows parameter and header names only.
#[derive(Clone, Copy)]
pub struct AuthRequest<'a> {
    headers: &'a HeaderMap,
    params: &'a Params<'a>,
    source: Option<&'a ThrottleSource>,
    certificate: Option<&'a ClientCertificate>,
}

impl<'a> AuthRequest<'a> {
    /// The request's headers and form parameters.
    pub fn new(headers: &'a HeaderMap, params: &'a Params<'a>) -> Self {
        Self {
            headers,
            params,
            source: None,
            certificate: None,
        }
    }

    /// With where the request comes from, as the host names it: throttling
    /// of a client whose secret can be guessed is then per source too
    /// ([`ThrottleSource`]).
    pub fn with_source(mut self, source: Option<&'a ThrottleSource>) -> Self {
        self.source = source;
        self
    }

    /// Where the request comes from, if the host said.
    pub fn source(&self) -> Option<&'a ThrottleSource> {
        self.source
    }

    /// With the client certificate of the request's mutual-TLS connection,
    /// as the host's TLS layer handed it over (RFC 8705 §2).
    pub fn with_certificate(mut self, certificate: Option<&'a ClientCertificate>) -> Self {
        self.certificate = certificate;
        self
    }

    /// The client certificate of the request's connection, if the host
    /// handed one over.
    pub fn certificate(&self) -> Option<&'a ClientCertificate> {
        self.certificate
    }

    /// The request headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The form parameters.
    pub fn params(&self) -> &'a Params<'a> {
        self.params
    }
}

impl std::fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("params", self.params)
            .field("headers", &crate::protocol::HeaderNames(self.headers))
            .field("source", &self.source)
            .field("certificate", &self.certificate)
            .finish()
    }
}

/// The client a request claims to be, and how it proves it.
#[derive(Debug)]
#[non_exhaustive]
pub struct PresentedCredentials {
    /// The identifier presented.
    pub client_id: String,
    /// The method the request used.
    pub method: AuthMethod,
    /// The secret, for the secret-based methods.
    pub secret: Option<ClientSecret>,
    /// The JWT client assertion, for `private_key_jwt` and
    /// `client_secret_jwt` (RFC 7523 §2.2).
    pub assertion: Option<ClientAssertion>,
    /// Whether the credentials came in the `Authorization` header, which makes a
    /// failure a `401` with a `WWW-Authenticate` challenge (RFC 6749 §5.2).
    pub via_authorization_header: bool,
}

impl PresentedCredentials {
    /// Credentials for `method`.
    pub fn new(client_id: impl Into<String>, method: AuthMethod) -> Self {
        Self {
            client_id: client_id.into(),
            method,
            secret: None,
            assertion: None,
            via_authorization_header: false,
        }
    }

    /// With a JWT client assertion.
    pub fn with_assertion(mut self, assertion: ClientAssertion) -> Self {
        self.assertion = Some(assertion);
        self
    }

    /// With a secret.
    pub fn with_secret(mut self, secret: ClientSecret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Marks the credentials as sent in the `Authorization` header.
    pub fn via_authorization_header(mut self) -> Self {
        self.via_authorization_header = true;
        self
    }
}

fn param<'p>(
    params: &'p Params<'_>,
    name: &'static str,
) -> Result<Option<&'p str>, ClientAuthError> {
    params
        .get(name)
        .map_err(|_| ClientAuthError::RepeatedParameter(name))
}

/// Reads `client_secret_basic`, `client_secret_post` or `none` credentials.
///
/// - RFC 6749 §2.3: more than one method in a request is `invalid_request`.
///   A `client_id` in the body next to Basic is tolerated when it names the
///   same client (it is identification, not a second method).
/// - RFC 6749 §2.3.1: the Basic user name and password are the
///   form-urlencoded client id and secret, so both are decoded after base64.
pub(crate) fn read_secret_credentials(
    request: &AuthRequest<'_>,
) -> Result<PresentedCredentials, ClientAuthError> {
    let mut authorization = request.headers.get_all(header::AUTHORIZATION).iter();
    let header = authorization.next();
    if authorization.next().is_some() {
        return Err(ClientAuthError::MultipleMethods);
    }
    let body_id = param(request.params, "client_id")?;
    let body_secret = param(request.params, "client_secret")?;

    if let Some(value) = header {
        let (id, secret) = parse_basic(value.as_bytes())?;
        if body_secret.is_some() {
            return Err(ClientAuthError::MultipleMethods);
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(ClientAuthError::ClientIdMismatch);
        }
        return Ok(
            PresentedCredentials::new(id, AuthMethod::CLIENT_SECRET_BASIC)
                .with_secret(ClientSecret::new(secret))
                .via_authorization_header(),
        );
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(PresentedCredentials::new(
            id,
            AuthMethod::CLIENT_SECRET_POST,
        )
        .with_secret(ClientSecret::new(secret))),
        (Some(id), None) => Ok(PresentedCredentials::new(id, AuthMethod::NONE)),
        (None, Some(_)) => Err(ClientAuthError::MalformedCredentials),
        (None, None) => Err(ClientAuthError::Missing),
    }
}

/// Parses `Basic <base64(urlencode(id) ":" urlencode(secret))>`.
fn parse_basic(value: &[u8]) -> Result<(String, String), ClientAuthError> {
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(ClientAuthError::MalformedCredentials);
    }
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(space) => value.split_at(space),
        None => (value, &[][..]),
    };
    // RFC 9110 §11.1: the scheme name is case-insensitive.
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(ClientAuthError::UnsupportedScheme);
    }
    // Spaces only (RFC 9110 §11.4: `1*SP` before the credentials); any
    // other whitespace is a malformed header, as it always was.
    let start = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    let end = rest
        .iter()
        .rposition(|b| *b != b' ')
        .map_or(start, |i| i + 1);
    let encoded = rest.get(start..end).unwrap_or_default();
    let decoded = decode_base64(encoded).ok_or(ClientAuthError::MalformedCredentials)?;
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .ok_or(ClientAuthError::MalformedCredentials)?;
    let (id, secret) = decoded.split_at(colon);
    let secret = secret.get(1..).unwrap_or_default();
    let id = form_decode(id)?;
    let secret = form_decode(secret)?;
    if id.is_empty() || secret.is_empty() {
        return Err(ClientAuthError::MalformedCredentials);
    }
    Ok((id.into_owned(), secret.into_owned()))
}

/// Decodes standard base64 (RFC 4648 §4); `None` for anything that is not
/// the canonical encoding of some bytes. Padding is optional (RFC 7617
/// clients differ), but where present it must be exactly the padding of a
/// padded encoding; bits past the last byte must be zero, so that one
/// credential has one encoding. The `base64` crate's engines refuse both by
/// default; which one decodes depends only on whether padding is present.
fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    let engine = if input.ends_with(b"=") {
        &STANDARD
    } else {
        &STANDARD_NO_PAD
    };
    engine.decode(input).ok()
}

fn form_decode(bytes: &[u8]) -> Result<Cow<'_, str>, ClientAuthError> {
    decode(bytes).map_err(|_| ClientAuthError::MalformedCredentials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn read(auth: Option<&str>, body: &str) -> Result<PresentedCredentials, ClientAuthError> {
        let mut headers = HeaderMap::new();
        if let Some(a) = auth {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        let params = Params::parse(body.as_bytes()).unwrap();
        read_secret_credentials(&AuthRequest::new(&headers, &params))
    }

    fn basic(id: &str, secret: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    }

    #[test]
    fn basic_is_form_decoded() {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
        let c = read(Some(&basic("my%3Aclient", "s%2Bp+q")), "").unwrap();
        assert_eq!(c.client_id, "my:client");
        assert_eq!(c.secret.unwrap().expose_secret(), "s+p q");
        assert_eq!(c.method, AuthMethod::CLIENT_SECRET_BASIC);
        assert!(c.via_authorization_header);
    }

    #[test]
    fn scheme_is_case_insensitive_and_padding_optional() {
        let v = basic("a", "b").replace("Basic", "bAsIc");
        assert!(read(Some(&v), "").is_ok());
        let unpadded = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode("a:bc")
        );
        assert!(read(Some(&unpadded), "").is_ok());
    }

    #[test]
    fn long_credentials_are_read() {
        let secret = "s".repeat(1500);
        let c = read(Some(&basic("a", &secret)), "").unwrap();
        assert_eq!(c.secret.unwrap().expose_secret(), secret);
        let c = read(Some(&basic("a", &"t".repeat(380))), "").unwrap();
        assert_eq!(c.secret.unwrap().expose_secret().len(), 380);
    }

    #[test]
    fn post_and_none() {
        let c = read(None, "client_id=a&client_secret=b").unwrap();
        assert_eq!(c.method, AuthMethod::CLIENT_SECRET_POST);
        assert!(!c.via_authorization_header);
        let c = read(None, "client_id=a").unwrap();
        assert_eq!(c.method, AuthMethod::NONE);
        assert!(c.secret.is_none());
    }

    #[test]
    fn refusals() {
        use ClientAuthError::*;
        let err = |a: Option<&str>, b: &str| read(a, b).unwrap_err();
        assert!(matches!(err(None, ""), Missing));
        assert!(matches!(err(None, "client_secret=b"), MalformedCredentials));
        assert!(matches!(
            err(Some(&basic("a", "b")), "client_secret=b"),
            MultipleMethods
        ));
        assert!(matches!(
            err(Some(&basic("a", "b")), "client_id=z"),
            ClientIdMismatch
        ));
        assert!(read(Some(&basic("a", "b")), "client_id=a").is_ok());
        assert!(matches!(err(Some("Bearer abc"), ""), UnsupportedScheme));
        assert!(matches!(err(Some("Basic"), ""), MalformedCredentials));
        assert!(matches!(err(Some("Basic !!!"), ""), MalformedCredentials));
        let no_colon = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("nocolon")
        );
        assert!(matches!(err(Some(&no_colon), ""), MalformedCredentials));
        assert!(matches!(
            err(Some(&basic("", "b")), ""),
            MalformedCredentials
        ));
        assert!(matches!(
            err(Some(&basic("a", "%zz")), ""),
            MalformedCredentials
        ));
        assert!(matches!(
            err(None, "client_id=a&client_id=b"),
            RepeatedParameter("client_id")
        ));
    }

    #[test]
    fn two_authorization_headers_are_two_methods() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_str(&basic("a", "b")).unwrap(),
        );
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_str(&basic("a", "b")).unwrap(),
        );
        let params = Params::default();
        assert!(matches!(
            read_secret_credentials(&AuthRequest::new(&headers, &params)),
            Err(ClientAuthError::MultipleMethods)
        ));
    }

    fn decoded(input: &str) -> Option<Vec<u8>> {
        decode_base64(input.as_bytes())
    }

    proptest::proptest! {
        #[test]
        fn base64_round_trips_padded_or_not(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            proptest::prop_assert_eq!(decoded(&STANDARD.encode(&bytes)), Some(bytes.clone()));
            proptest::prop_assert_eq!(decoded(&STANDARD_NO_PAD.encode(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn base64_other_than_a_canonical_encoding_is_refused() {
        assert_eq!(decoded("YTpi"), Some(b"a:b".to_vec()));
        assert_eq!(decoded("YTpiYw=="), Some(b"a:bc".to_vec()));
        assert_eq!(decoded("YTpiYw"), Some(b"a:bc".to_vec()));
        for bad in [
            "YTpiYw=",
            "YTpiYw===",
            "YTpiY",
            "YTpiYx==",
            "YTpiYx",
            "YTpiYwF=",
            "YTp=iYw=",
            "YT iYw==",
            "YTpi\nYw==",
            "YTpi-w==",
            "YTpi_w==",
            "====",
            "=",
        ] {
            assert_eq!(decoded(bad), None, "{bad}");
        }
    }

    #[test]
    fn invalid_utf8_after_base64_is_malformed() {
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(b"a:\xff\xfe")
        );
        assert!(matches!(
            read(Some(&v), ""),
            Err(ClientAuthError::MalformedCredentials)
        ));
    }
}
