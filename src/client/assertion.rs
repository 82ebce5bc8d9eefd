//! Reading a JWT client assertion from a request (RFC 7521 §4.2,
//! RFC 7523 §2.2): which client it claims to be, before anything in it is
//! trusted.

use std::fmt;

use http::header;

use super::{AuthMethod, AuthRequest, ClientAuthError, PresentedCredentials};
use crate::jose::{Algorithm, JwsError, RegisteredClaims, UnverifiedJws};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest `client_assertion` read, in bytes: far more than a signed
/// JWT of a few claims, and a bound on what parsing costs.
pub const MAX_CLIENT_ASSERTION_LEN: usize = 8 * 1024;

/// A client assertion as presented: a credential, so `Debug` redacts it.
#[derive(Clone)]
pub struct ClientAssertion(String);

impl ClientAssertion {
    /// The assertion `compact` (a compact JWS).
    pub fn new(compact: impl Into<String>) -> Self {
        Self(compact.into())
    }

    /// The compact JWS.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientAssertion([REDACTED])")
    }
}

fn param<'p>(
    request: &'p AuthRequest<'_>,
    name: &'static str,
) -> Result<Option<&'p str>, ClientAuthError> {
    request
        .params()
        .get(name)
        .map_err(|_| ClientAuthError::RepeatedParameter(name))
}

/// The assertion's method by its algorithm: HS256 is a MAC with the
/// client's secret (`client_secret_jwt`), every other allowed algorithm a
/// signature with its private key (`private_key_jwt`). The server then
/// requires it to be the method the client registered, so an HS256
/// assertion is never checked with a public key, nor a signature with a
/// secret (RFC 8725 §2.1, key confusion).
fn method_of(alg: Algorithm) -> AuthMethod {
    if alg == Algorithm::Hs256 {
        AuthMethod::CLIENT_SECRET_JWT
    } else {
        AuthMethod::PRIVATE_KEY_JWT
    }
}

/// Reads a JWT client assertion, if the request carries one
/// (`client_assertion_type` or `client_assertion`): `None` when it has
/// neither.
///
/// - RFC 6749 §2.3: an assertion and the `Authorization` header or a
///   `client_secret` are two methods, `invalid_request`.
/// - RFC 7521 §4.2: both parameters, the type
///   `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
/// - RFC 7523 §3: the client is the assertion's `sub`, which must equal
///   its `iss`; a `client_id` parameter, if sent, must name it too.
///
/// Nothing in the assertion is trusted yet: its signature and claims are
/// checked once the client and its keys are known.
pub(crate) fn read_assertion(
    request: &AuthRequest<'_>,
) -> Result<Option<PresentedCredentials>, ClientAuthError> {
    let assertion_type = param(request, "client_assertion_type")?;
    let assertion = param(request, "client_assertion")?;
    if assertion_type.is_none() && assertion.is_none() {
        return Ok(None);
    }
    if request.headers().contains_key(header::AUTHORIZATION)
        || param(request, "client_secret")?.is_some()
    {
        return Err(ClientAuthError::MultipleMethods);
    }
    let (Some(assertion_type), Some(assertion)) = (assertion_type, assertion) else {
        return Err(ClientAuthError::MalformedCredentials);
    };
    if assertion_type != JWT_BEARER_ASSERTION_TYPE {
        return Err(ClientAuthError::UnsupportedScheme);
    }
    let jws = UnverifiedJws::parse_with_limit(assertion, MAX_CLIENT_ASSERTION_LEN).map_err(
        |e| match e {
            JwsError::UnsupportedAlgorithm => {
                ClientAuthError::InvalidAssertion("the algorithm is not allowed")
            }
            _ => ClientAuthError::MalformedCredentials,
        },
    )?;
    let claims: RegisteredClaims = serde_json::from_slice(jws.unverified_payload())
        .map_err(|_| ClientAuthError::MalformedCredentials)?;
    let Some(subject) = claims.sub.filter(|s| !s.is_empty()) else {
        return Err(ClientAuthError::InvalidAssertion("sub is missing"));
    };
    if claims.iss.as_deref() != Some(subject.as_str()) {
        return Err(ClientAuthError::InvalidAssertion(
            "iss and sub must both be the client_id",
        ));
    }
    if param(request, "client_id")?.is_some_and(|id| id != subject) {
        return Err(ClientAuthError::ClientIdMismatch);
    }
    Ok(Some(
        PresentedCredentials::new(subject, method_of(jws.header().algorithm()))
            .with_assertion(ClientAssertion::new(assertion)),
    ))
}
