//! Why a protected resource request was refused, and its one mapping to the
//! wire (RFC 6750 §3, §3.1).

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use super::{BearerChallenge, Realm, ResourceMetadataUrl, TokenLocation, TokenSourceError};
use http::HeaderName;

use crate::jose::Algorithm;
use crate::protocol::{
    DPOP_NONCE_HEADER, DpopError, ErrorCode, ErrorResponse, OAuthError, Scope, dpop_challenge,
};

/// Why a request is malformed: `400 invalid_request` (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// The token came by more than one method (RFC 6750 §2: clients MUST NOT).
    #[error("the access token was sent by more than one method")]
    MultipleMethods,
    /// More than one `Authorization` header.
    #[error("the Authorization header is repeated")]
    RepeatedAuthorization,
    /// An `Authorization: Bearer` header that is not `"Bearer" 1*SP b64token`
    /// (RFC 6750 §2.1), or a token longer than
    /// [`MAX_TOKEN_LEN`](super::MAX_TOKEN_LEN).
    #[error("the Bearer credentials are malformed")]
    MalformedCredentials,
    /// `access_token` appears more than once in the query or body.
    #[error("the access_token parameter is repeated")]
    RepeatedParameter,
    /// The query or form body carrying the token is not valid
    /// `application/x-www-form-urlencoded` in UTF-8.
    #[error("the form parameters are malformed")]
    MalformedForm,
    /// A form body carrying the token is not ASCII (RFC 6750 §2.2).
    #[error("a form body carrying an access token must be ASCII")]
    BodyNotAscii,
}

/// What went wrong; see [`BearerError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BearerErrorKind {
    /// The request carries no bearer token (nothing, or another
    /// authentication scheme). `401` with a challenge and no error code
    /// (RFC 6750 §3.1).
    #[error("no access token was presented")]
    Missing,
    /// A token came only by a method this resource server does not accept:
    /// the URI query or the form body, unless enabled. Answered as
    /// [`Missing`](Self::Missing): RFC 6750 §3.1 treats "attempted using an
    /// unsupported authentication method" as lacking authentication.
    #[error("the access token was sent by a method this resource does not accept")]
    MethodNotAccepted(TokenLocation),
    /// The request is malformed: `400 invalid_request`.
    #[error("malformed request: {0}")]
    InvalidRequest(InvalidRequest),
    /// The token is unknown, expired, revoked, malformed, or not an access
    /// token: `401 invalid_token`. Which of these is not said.
    #[error("the access token is invalid, expired or revoked")]
    InvalidToken,
    /// The token lacks scope the resource requires: `403 insufficient_scope`
    /// with the required `scope`.
    #[error("the access token lacks the required scope")]
    InsufficientScope {
        /// The scope the resource requires.
        required: Scope,
    },
    /// The token source failed: `500` with no detail.
    #[error("the token source failed")]
    Unavailable(#[source] TokenSourceError),
    /// `Authorization: DPoP` with a missing or invalid proof: `401
    /// invalid_dpop_proof` in the `DPoP` challenge (RFC 9449 §7.1).
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(DpopError),
    /// The proof lacks the resource's nonce: `401 use_dpop_nonce` with the
    /// nonce in `DPoP-Nonce` (RFC 9449 §9).
    #[error("a DPoP nonce is required")]
    UseDpopNonce(String),
}

/// A refused protected resource request: the reason, and the realm to name in
/// the challenge.
///
/// [`into_http`](Self::into_http) is the one place these become a response:
///
/// | kind | status | `WWW-Authenticate` |
/// |---|---|---|
/// | `Missing`, `MethodNotAccepted` | 401 | `Bearer realm="…"` (no error) |
/// | `InvalidRequest` | 400 | `…, error="invalid_request", error_description="…"` |
/// | `InvalidToken` | 401 | `…, error="invalid_token", error_description="…"` |
/// | `InsufficientScope` | 403 | `…, error="insufficient_scope", error_description="…", scope="…"` |
/// | `Unavailable` | 500 | none |
///
/// Every response has `Cache-Control: no-store`; those with an error code
/// also carry it in a JSON body (`{"error": …, "error_description": …}`).
/// Descriptions are fixed strings: never the token, never internal detail.
///
/// For RFC 9728 discovery, an error may also name the resource's metadata
/// URL ([`with_resource_metadata`](Self::with_resource_metadata)), written
/// last in every challenge as `resource_metadata="…"` (§5.1), and the scope
/// the resource requires ([`with_required_scope`](Self::with_required_scope)),
/// written as `scope="…"` in the challenges that do not already name one —
/// a 401 then tells a client that has no token yet what to ask for (RFC 6750
/// §3; the MCP authorization specification's scope selection). A
/// [`BearerValidator`](super::BearerValidator) built with
/// [`resource_metadata`](super::BearerValidator::resource_metadata) adds
/// both to every error it returns. Without them, challenges are as in the
/// table.
#[derive(Debug)]
pub struct BearerError {
    kind: BearerErrorKind,
    realm: Realm,
    resource_metadata: Option<ResourceMetadataUrl>,
    required_scope: Option<Scope>,
    /// The algorithms of the `DPoP` challenge, when the resource accepts
    /// DPoP (RFC 9449 §7.1).
    dpop_algorithms: Option<Vec<Algorithm>>,
}

/// Reads as its kind, so an error chain does not say the same thing twice.
impl std::fmt::Display for BearerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for BearerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

impl BearerError {
    /// An error naming `realm` in its challenge.
    pub fn new(kind: BearerErrorKind, realm: Realm) -> Self {
        Self {
            kind,
            realm,
            resource_metadata: None,
            required_scope: None,
            dpop_algorithms: None,
        }
    }

    /// Adds a `DPoP` challenge naming `algorithms` (RFC 9449 §7.1) beside
    /// the `Bearer` one: the resource accepts DPoP-bound tokens. A refusal
    /// of a token or of its proof then carries its error in the `DPoP`
    /// challenge.
    pub fn with_dpop(mut self, algorithms: &[Algorithm]) -> Self {
        self.dpop_algorithms = Some(algorithms.to_vec());
        self
    }

    /// Names the protected resource's metadata URL in the challenge:
    /// `resource_metadata="…"` (RFC 9728 §5.1).
    pub fn with_resource_metadata(mut self, url: ResourceMetadataUrl) -> Self {
        self.resource_metadata = Some(url);
        self
    }

    /// Names `scope`, the scope the resource requires, in a challenge that
    /// does not already name one (RFC 6750 §3): so a `401` tells the client
    /// what to request. An empty scope names nothing. An
    /// [`InsufficientScope`](BearerErrorKind::InsufficientScope) refusal
    /// keeps naming its own.
    pub fn with_required_scope(mut self, scope: Scope) -> Self {
        self.required_scope = (!scope.is_empty()).then_some(scope);
        self
    }

    /// The resource metadata URL the challenge names, if any.
    pub fn resource_metadata(&self) -> Option<&ResourceMetadataUrl> {
        self.resource_metadata.as_ref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &BearerErrorKind {
        &self.kind
    }

    /// What went wrong, by value.
    pub fn into_kind(self) -> BearerErrorKind {
        self.kind
    }

    /// The realm named in the challenge.
    pub fn realm(&self) -> &Realm {
        &self.realm
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            BearerErrorKind::Missing
            | BearerErrorKind::MethodNotAccepted(_)
            | BearerErrorKind::InvalidToken
            | BearerErrorKind::InvalidDpopProof(_)
            | BearerErrorKind::UseDpopNonce(_) => StatusCode::UNAUTHORIZED,
            BearerErrorKind::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            BearerErrorKind::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            BearerErrorKind::Unavailable(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OAuth error the client is told, if any: none for a request
    /// without credentials (RFC 6750 §3.1), `server_error` for a failed
    /// source.
    pub fn oauth_error(&self) -> Option<OAuthError> {
        let (code, description) = match &self.kind {
            BearerErrorKind::Missing | BearerErrorKind::MethodNotAccepted(_) => return None,
            BearerErrorKind::InvalidRequest(why) => (ErrorCode::INVALID_REQUEST, why.to_string()),
            BearerErrorKind::InvalidToken => (
                ErrorCode::INVALID_TOKEN,
                "the access token is invalid, expired or revoked".to_owned(),
            ),
            BearerErrorKind::InsufficientScope { .. } => (
                ErrorCode::INSUFFICIENT_SCOPE,
                "the access token lacks the scope this resource requires".to_owned(),
            ),
            BearerErrorKind::Unavailable(_) => {
                return Some(OAuthError::new(ErrorCode::SERVER_ERROR));
            }
            BearerErrorKind::InvalidDpopProof(why) => {
                (ErrorCode::INVALID_DPOP_PROOF, why.to_string())
            }
            BearerErrorKind::UseDpopNonce(_) => (
                ErrorCode::USE_DPOP_NONCE,
                "the DPoP proof must carry the resource's nonce".to_owned(),
            ),
        };
        Some(OAuthError::new(code).with_description(description))
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3); `None` for a failed
    /// source, which is not the client's doing.
    pub fn challenge(&self) -> Option<BearerChallenge> {
        let challenge = BearerChallenge::new(self.realm.clone());
        let mut challenge = match &self.kind {
            BearerErrorKind::Unavailable(_) => return None,
            BearerErrorKind::Missing
            | BearerErrorKind::MethodNotAccepted(_)
            | BearerErrorKind::InvalidDpopProof(_)
            | BearerErrorKind::UseDpopNonce(_) => challenge,
            BearerErrorKind::InsufficientScope { required } => {
                challenge.error(self.oauth_error()?).scope(required.clone())
            }
            BearerErrorKind::InvalidRequest(_) | BearerErrorKind::InvalidToken => {
                challenge.error(self.oauth_error()?)
            }
        };
        if challenge.required_scope().is_none() {
            if let Some(scope) = &self.required_scope {
                challenge = challenge.scope(scope.clone());
            }
        }
        if let Some(url) = &self.resource_metadata {
            challenge = challenge.resource_metadata(url.clone());
        }
        Some(challenge)
    }

    /// Renders the error as the HTTP response to send.
    pub fn into_http(self) -> Response<Vec<u8>> {
        if let BearerErrorKind::Unavailable(e) = &self.kind {
            // The client sees a bare `server_error`; the operator sees why.
            tracing::error!(
                target: "portcullis",
                error = %e,
                source = ?std::error::Error::source(e),
                "bearer token source failure",
            );
        }
        let challenge = self.challenge().map(|c| c.to_header_value());
        let dpop = self.dpop_challenge();
        let nonce = match &self.kind {
            BearerErrorKind::UseDpopNonce(nonce) => HeaderValue::from_str(nonce).ok(),
            _ => None,
        };
        let mut response = match self.oauth_error() {
            Some(error) => {
                let mut response = ErrorResponse::new(error).with_status(self.status());
                if let Some(challenge) = challenge {
                    response = response.with_challenge(challenge);
                }
                response.into_http()
            }
            None => {
                let mut response = Response::new(Vec::new());
                *response.status_mut() = self.status();
                let headers = response.headers_mut();
                if let Some(challenge) = challenge {
                    headers.insert(header::WWW_AUTHENTICATE, challenge);
                }
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        };
        if let Some(dpop) = dpop {
            response
                .headers_mut()
                .append(header::WWW_AUTHENTICATE, dpop);
        }
        if let Some(nonce) = nonce {
            response
                .headers_mut()
                .insert(HeaderName::from_static(DPOP_NONCE_HEADER), nonce);
        }
        response
    }

    /// The `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1), when the
    /// resource accepts DPoP: with the error of a refused token or proof,
    /// bare for a request without credentials; none for a failed source
    /// or a malformed request.
    pub fn dpop_challenge(&self) -> Option<HeaderValue> {
        let algorithms = self.dpop_algorithms.as_deref()?;
        match &self.kind {
            BearerErrorKind::Missing | BearerErrorKind::MethodNotAccepted(_) => {
                Some(dpop_challenge(None, algorithms))
            }
            BearerErrorKind::InvalidToken
            | BearerErrorKind::InsufficientScope { .. }
            | BearerErrorKind::InvalidDpopProof(_)
            | BearerErrorKind::UseDpopNonce(_) => {
                Some(dpop_challenge(self.oauth_error().as_ref(), algorithms))
            }
            BearerErrorKind::InvalidRequest(_) | BearerErrorKind::Unavailable(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn the_chain_names_each_cause_once() {
        let e = BearerError::new(
            BearerErrorKind::Unavailable(TokenSourceError::new(std::io::Error::other("down"))),
            Realm::new("r").unwrap(),
        );
        assert_eq!(e.to_string(), "the token source failed");
        let source = e.source().unwrap();
        assert_eq!(source.to_string(), "down");
        assert!(source.source().is_none());
        let e = BearerError::new(BearerErrorKind::Missing, Realm::new("r").unwrap());
        assert!(e.source().is_none());
    }
}
