//! The request-time rules of the FAPI 2.0 Security Profile (FAPI 2.0
//! Security Profile, Final, §5.3.2), on a server built with
//! [`ServerBuilder::fapi2_security_profile`](crate::ServerBuilder::fapi2_security_profile).
//! The build-time rules are in `server::fapi`; `docs/FAPI2.md` maps every
//! clause to its rule and test.

use super::authorization_server::ServerInner;
use crate::client::{AuthMethod, AuthenticatedClient};
use crate::grant::TokenError;
use crate::protocol::{DpopError, ErrorCode, OAuthError, Params};

/// A setting [`ServerBuilder::build`](crate::ServerBuilder::build) found
/// at odds with the FAPI 2.0 Security Profile
/// ([`ServerBuilder::fapi2_security_profile`](crate::ServerBuilder::fapi2_security_profile)).
/// Each names the clause of FAPI 2.0 Security Profile, Final it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fapi2Conflict {
    /// The password grant is served.
    #[error("FAPI 2.0 §5.3.2.1 item 2: the resource owner password credentials grant is served")]
    PasswordGrant,
    /// No client authentication the profile allows is configured: neither
    /// `private_key_jwt` (a [`replay_cache`](crate::ServerBuilder::replay_cache))
    /// nor mutual TLS.
    #[error(
        "FAPI 2.0 §5.3.2.1 item 6: no private_key_jwt (ServerBuilder::replay_cache) or mutual TLS \
         client authentication is configured"
    )]
    NoClientAuthentication,
    /// `client_secret_jwt` is offered.
    #[error("FAPI 2.0 §5.3.2.1 item 6: client_secret_jwt is offered")]
    ClientSecretJwt,
    /// Client ID metadata documents are resolved: their clients are public.
    #[error("FAPI 2.0 §5.3.2.1 item 3: client ID metadata documents make public clients")]
    ClientIdMetadataDocuments,
    /// No way to sender-constrain access tokens is configured.
    #[error(
        "FAPI 2.0 §5.3.2.1 items 4 and 5: no sender-constraining mechanism (DPoP or mutual TLS) \
         is configured"
    )]
    NoSenderConstraint,
    /// Confidential clients' refresh tokens rotate.
    #[error("FAPI 2.0 §5.3.2.1 item 9: refresh tokens rotate for confidential clients")]
    RefreshTokenRotation,
    /// Authorization codes live longer than 60 seconds.
    #[error("FAPI 2.0 §5.3.2.1 item 11: authorization codes live longer than 60 seconds")]
    CodeLifetime,
    /// DPoP proofs may be more than 60 seconds in the future.
    #[error("FAPI 2.0 §5.3.2.1 item 13: a DPoP proof's iat may be more than 60 seconds ahead")]
    DpopClockSkew,
    /// Client assertions and request objects may be more than 60 seconds
    /// in the future.
    #[error(
        "FAPI 2.0 §5.3.2.1 item 13: a client assertion's or request object's iat or nbf may be \
         more than 60 seconds ahead"
    )]
    AssertionClockSkew,
    /// The implicit grant is enabled.
    #[error("FAPI 2.0 §5.3.2.2 item 1: the implicit grant is enabled (response_type must be code)")]
    ImplicitGrant,
    /// PKCE `plain` is accepted.
    #[error("FAPI 2.0 §5.3.2.2 item 5: PKCE plain is accepted (S256 only)")]
    PlainPkce,
    /// Confidential clients may omit PKCE.
    #[error("FAPI 2.0 §5.3.2.2 item 5: PKCE is optional for confidential clients")]
    OptionalPkce,
    /// A pushed request's `request_uri` lives 600 seconds or longer.
    #[error("FAPI 2.0 §5.3.2.2 item 12: pushed requests live 600 seconds or longer")]
    PushedRequestLifetime,
    /// ID tokens are signed with an algorithm other than PS256, ES256 or
    /// EdDSA.
    #[error("FAPI 2.0 §5.4.1 item 1.2: ID tokens are not signed with PS256, ES256 or EdDSA")]
    IdTokenAlgorithm,
    /// JWT access tokens are signed with another algorithm.
    #[error("FAPI 2.0 §5.4.1 item 1.2: access tokens are not signed with PS256, ES256 or EdDSA")]
    AccessTokenAlgorithm,
    /// Request objects may be signed with another algorithm.
    #[error("FAPI 2.0 §5.4.1 item 1.2: request objects may be signed with RS256")]
    RequestObjectAlgorithm,
    /// DPoP proofs may be signed with another algorithm.
    #[error("FAPI 2.0 §5.4.1 item 1.2: DPoP proofs may be signed with RS256")]
    DpopAlgorithm,
}

/// Whether `client` authenticated as the profile allows: a confidential
/// client (§5.3.2.1 item 3) using `private_key_jwt` or mutual TLS
/// (§5.3.2.1 item 6; RFC 8705 §2). Anything else — a public client's
/// `none`, `client_secret_*` — is refused as an unsupported method,
/// `invalid_client` (RFC 6749 §5.2).
pub(crate) fn allows_client(client: &AuthenticatedClient) -> bool {
    client.is_confidential()
        && (*client.method() == AuthMethod::PRIVATE_KEY_JWT || client.method().is_mutual_tls())
}

/// The refusal of a token request that would get an access token bound to
/// no key (§5.3.2.1 item 4). With DPoP configured it is the refusal a
/// client registered with `dpop_bound_access_tokens` gets without a proof:
/// `400 invalid_dpop_proof` (RFC 9449 §5.2, §7.1), which tells a DPoP
/// client what to send; otherwise `400 invalid_request`.
pub(crate) fn unconstrained_token_request(inner: &ServerInner) -> TokenError {
    if inner.dpop.is_some() {
        TokenError::InvalidDpopProof(DpopError::Missing)
    } else {
        TokenError::OAuth(
            OAuthError::new(ErrorCode::INVALID_REQUEST)
                .with_description("the server issues only sender-constrained access tokens"),
        )
    }
}

/// The rules of §5.3.2.2 a pushed authorization request (RFC 9126) must
/// meet beyond RFC 9126's own, on its parameters — a request object's
/// when it was signed: `redirect_uri` present (item 6), `400
/// invalid_request` (RFC 9126 §2.3) when absent.
pub(crate) fn check_pushed_request(params: &Params<'_>) -> Result<(), TokenError> {
    match params.get("redirect_uri") {
        Ok(Some(_)) => Ok(()),
        // A repeated parameter is refused where the request is validated.
        Err(_) => Ok(()),
        Ok(None) => Err(TokenError::OAuth(
            OAuthError::new(ErrorCode::INVALID_REQUEST).with_description(
                "redirect_uri is required in a pushed authorization request (FAPI 2.0 §5.3.2.2)",
            ),
        )),
    }
}
