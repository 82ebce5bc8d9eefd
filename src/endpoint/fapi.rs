//! The request-time rules of the FAPI 2.0 Security Profile (FAPI 2.0
//! Security Profile, Final, §5.3.2), on a server built with
//! [`ServerBuilder::fapi2_security_profile`](crate::ServerBuilder::fapi2_security_profile).
//! The build-time rules are in `server::fapi`; `docs/FAPI2.md` maps every
//! clause to its rule and test.

use super::authorization_server::ServerInner;
use crate::client::{AuthMethod, AuthenticatedClient};
use crate::grant::TokenError;
use crate::protocol::{DpopError, ErrorCode, OAuthError, Params};

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
