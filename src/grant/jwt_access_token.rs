//! JWT access tokens (RFC 9068): the claims, signed with the server's key.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::Serialize;

use crate::client::ClientId;
use crate::jose::{Audience, JwsSigner, SigningError, seconds, sign_json};
use crate::protocol::{AuthorizationDetails, ResourceSet, Scope};
use crate::store::{Actor, Subject};
use crate::token::Confirmation;

/// The media type of a JWT access token's `typ` header (RFC 9068 §2.1).
pub(crate) const AT_JWT_TYP: &str = "at+jwt";

/// The claims of RFC 9068 §2.2.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    /// RFC 9396 §9.1: the details the token carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_details: Option<serde_json::Value>,
    /// The actor of a delegated token (RFC 8693 §4.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<&'a Actor>,
    /// The key the token is bound to (RFC 7800 §3.1, RFC 9449 §6.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<&'a Confirmation>,
}

/// What goes in a JWT access token.
pub(crate) struct AccessTokenClaims<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a ClientId,
    /// The resource owner; the client itself when there is none (RFC 9068
    /// §2.2: `sub` names the client in the client credentials grant).
    pub(crate) subject: Option<&'a Subject>,
    pub(crate) audience: &'a ResourceSet,
    pub(crate) scope: &'a Scope,
    pub(crate) issued_at: SystemTime,
    pub(crate) expires_at: SystemTime,
    /// The authorization details (RFC 9396 §9.1); empty for none.
    pub(crate) authorization_details: &'a AuthorizationDetails,
    /// The actor, for a token issued by delegation (RFC 8693 §4.1).
    pub(crate) act: Option<&'a Actor>,
    /// The DPoP binding, if any.
    pub(crate) cnf: Option<&'a Confirmation>,
}

/// Signs an RFC 9068 access token: header `typ: at+jwt` with the key's
/// `alg` and `kid`; `iss`, `sub`, `aud`, `exp`, `iat`, a random 128-bit
/// `jti`, `client_id` and `scope`; `act` for a delegated token (RFC 8693
/// §4.1).
pub(crate) async fn sign(
    signer: &dyn JwsSigner,
    claims: AccessTokenClaims<'_>,
) -> Result<String, SigningError> {
    let mut jti = [0u8; 16];
    rand::rng().fill_bytes(&mut jti);
    let claims = Claims {
        iss: claims.issuer,
        sub: claims
            .subject
            .map_or(claims.client_id.as_str(), Subject::as_str),
        aud: Audience::of(
            claims
                .audience
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        ),
        exp: seconds(claims.expires_at),
        iat: seconds(claims.issued_at),
        jti: URL_SAFE_NO_PAD.encode(jti),
        client_id: claims.client_id.as_str(),
        scope: claims.scope.as_str(),
        authorization_details: (!claims.authorization_details.is_empty())
            .then(|| claims.authorization_details.to_json()),
        act: claims.act,
        cnf: claims.cnf,
    };
    sign_json(signer, Some(AT_JWT_TYP), &claims).await
}
