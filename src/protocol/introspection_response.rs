//! The introspection response (RFC 7662 §2.2): what the introspection
//! endpoint answers, and what a resource server in another process reads.

use crate::jose::Audience;
use std::time::{Duration, SystemTime};

use http::{Response, StatusCode};

use super::Scope;
use super::error::json_response;

/// What the authorization server says about a token (RFC 7662 §2.2).
///
/// The server renders it with [`to_json`](Self::to_json) /
/// [`into_http`](Self::into_http); a resource server that called the
/// introspection endpoint over HTTP reads the body back with
/// [`from_json`](Self::from_json).
///
/// An inactive token — unknown, malformed, expired, revoked, rotated out, or
/// one the caller may not introspect — is `{"active":false}` and nothing else
/// (RFC 7662 §2.2, §4): every other field is `None`.
///
/// An active token has `active`, `client_id`, `exp`, `iat` and `iss`, `scope`
/// when the token has one, and `sub` when its grant speaks for a resource
/// owner. `token_type` is `Bearer` for an access token and absent for a
/// refresh token: the member is the access token type of RFC 6749 §5.1, which
/// a refresh token does not have.
///
/// # For a resource server
///
/// Accept a request only if [`is_active_access_token`](Self::is_active_access_token)
/// holds — `active` and `token_type` `Bearer`, so a refresh token sent in
/// place of an access token is refused — `iss` is the issuer you expect, and
/// `exp` is still in the future: a cached response MUST NOT be used past
/// `exp` (RFC 7662 §4).
///
/// ```
/// use portcullis::protocol::IntrospectionResponse;
///
/// let body = br#"{"active":true,"scope":"read","client_id":"c1","sub":"alice",
///     "exp":1900000600,"iat":1900000000,"token_type":"Bearer","iss":"https://auth.example/"}"#;
/// let response = IntrospectionResponse::from_json(body)?;
/// assert!(response.is_active_access_token());
/// assert_eq!(response.iss.as_deref(), Some("https://auth.example/"));
/// assert!(response.scope.as_ref().unwrap().contains("read"));
///
/// // An inactive answer carries nothing else, even if a server sent more.
/// let inactive = IntrospectionResponse::from_json(br#"{"active":false,"sub":"alice"}"#)?;
/// assert_eq!(inactive, IntrospectionResponse::inactive());
/// # Ok::<(), portcullis::protocol::InvalidIntrospectionResponse>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct IntrospectionResponse {
    /// Whether the token is active: issued by this server, not expired, not
    /// revoked, and the caller may know about it.
    pub active: bool,
    /// The token's scope (RFC 6749 §3.3); absent when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The resource owner the token speaks for; absent for a client acting
    /// on its own behalf (client credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// When the token expires, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// When the token was issued, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// `Bearer` for an access token (RFC 6750); absent for a refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The issuer identifier of the server that issued the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// When the token became usable, in seconds since the Unix epoch; this
    /// server never sends it, other servers may.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The resources the token is for (RFC 7662 §2.2, RFC 8707): a string
    /// for one, an array for several; absent for a token without an
    /// audience restriction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// The authorization details the token carries (RFC 9396 §9.2): the
    /// JSON array; absent for a token without any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<serde_json::Value>,
    /// The actor of a token issued by delegation (RFC 8693 §4.1, §2.2.1:
    /// the `act` claim, nested for a chain of delegations); absent
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    /// The key the token is bound to (RFC 7800 §3.1): `{"jkt": …}` for a
    /// DPoP-bound token, whose `token_type` is then `DPoP` (RFC 9449
    /// §6.2); absent for a bearer token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::token::Confirmation>,
}

/// The body could not be read as an introspection response: not JSON, no
/// boolean `active`, or a member of the wrong type.
#[derive(Debug, thiserror::Error)]
#[error("malformed introspection response")]
pub struct InvalidIntrospectionResponse(#[source] serde_json::Error);

/// What [`IntrospectionResponse::from_json`] reads: `active` required, the
/// other members optional, unknown members (extensions, `aud`, `jti` …)
/// ignored.
#[derive(serde::Deserialize)]
struct Wire {
    active: bool,
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    authorization_details: Option<serde_json::Value>,
    act: Option<serde_json::Value>,
    cnf: Option<crate::token::Confirmation>,
}

impl IntrospectionResponse {
    /// `{"active":false}`.
    pub fn inactive() -> Self {
        Self {
            active: false,
            scope: None,
            client_id: None,
            sub: None,
            exp: None,
            iat: None,
            token_type: None,
            iss: None,
            nbf: None,
            authorization_details: None,
            aud: None,
            act: None,
            cnf: None,
        }
    }

    /// Reads an introspection endpoint's JSON body.
    ///
    /// An inactive response is returned as [`inactive`](Self::inactive)
    /// whatever else it carries, so nothing about an inactive token can be
    /// used by mistake.
    pub fn from_json(body: &[u8]) -> Result<Self, InvalidIntrospectionResponse> {
        let wire: Wire = serde_json::from_slice(body).map_err(InvalidIntrospectionResponse)?;
        if !wire.active {
            return Ok(Self::inactive());
        }
        // A time the platform's clock cannot hold is no time this resource
        // server can check a token against: the body is refused (fail
        // closed), as a member of the wrong type is.
        if [wire.exp, wire.iat, wire.nbf]
            .into_iter()
            .flatten()
            .any(|secs| from_epoch_secs(secs).is_none())
        {
            return Err(InvalidIntrospectionResponse(serde::de::Error::custom(
                "a time beyond what the clock can represent",
            )));
        }
        Ok(Self {
            active: true,
            scope: wire.scope,
            client_id: wire.client_id,
            sub: wire.sub,
            exp: wire.exp,
            iat: wire.iat,
            token_type: wire.token_type,
            iss: wire.iss,
            nbf: wire.nbf,
            aud: wire.aud,
            authorization_details: wire.authorization_details,
            act: wire.act.filter(serde_json::Value::is_object),
            cnf: wire.cnf,
        })
    }

    /// Whether this is an active access token: `active` and a `token_type`
    /// of `Bearer` (compared case-insensitively, RFC 6749 §5.1). The check a
    /// resource server needs before anything else.
    pub fn is_active_access_token(&self) -> bool {
        // A DPoP token (RFC 9449 §6.2) only with the key it is bound to: one
        // without `cnf` could not be held to its key, and is refused.
        self.active
            && self.token_type.as_deref().is_some_and(|t| {
                t.eq_ignore_ascii_case("bearer")
                    || (t.eq_ignore_ascii_case("dpop")
                        && self
                            .cnf
                            .as_ref()
                            .is_some_and(|c| c.jwk_thumbprint().is_some()))
            })
    }

    /// `exp` as a time; `None` if absent, or too far in the future for
    /// `SystemTime` (which [`from_json`](Self::from_json) refuses).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.exp.and_then(from_epoch_secs)
    }

    /// `nbf` as a time; `None` if absent or beyond `SystemTime`, as for
    /// [`expires_at`](Self::expires_at).
    pub fn not_before(&self) -> Option<SystemTime> {
        self.nbf.and_then(from_epoch_secs)
    }

    /// `iat` as a time; `None` if absent or beyond `SystemTime`, as for
    /// [`expires_at`](Self::expires_at).
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.iat.and_then(from_epoch_secs)
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, numbers and a scope (a string) into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Renders the response: `200`, `Content-Type: application/json`,
    /// `Cache-Control: no-store` and `Pragma: no-cache`.
    pub fn into_http(self) -> Response<Vec<u8>> {
        json_response(StatusCode::OK, self.to_json())
    }
}

/// Seconds since the Unix epoch, rounded down; times before it are 0.
pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The time `secs` seconds after the Unix epoch; `None` past the platform's
/// `SystemTime`, where `+` would panic.
fn from_epoch_secs(secs: u64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_is_active_false_and_nothing_else() {
        assert_eq!(
            IntrospectionResponse::inactive().to_json(),
            br#"{"active":false}"#
        );
    }

    #[test]
    fn round_trip() {
        let response = IntrospectionResponse {
            active: true,
            scope: Some("read write".parse().unwrap()),
            client_id: Some("c1".into()),
            sub: Some("alice".into()),
            exp: Some(1_900_000_600),
            iat: Some(1_900_000_000),
            token_type: Some("Bearer".into()),
            iss: Some("https://auth.example/".into()),
            nbf: None,
            aud: Some(Audience::Many(vec![
                "https://a.example".into(),
                "https://b.example".into(),
            ])),
            authorization_details: Some(serde_json::json!([{"type": "a", "actions": ["r"]}])),
            act: Some(serde_json::json!({"sub": "agent", "act": {"sub": "first"}})),
            cnf: None,
        };
        let json = response.to_json();
        assert_eq!(IntrospectionResponse::from_json(&json).unwrap(), response);
        assert!(response.is_active_access_token());
        assert_eq!(
            response.expires_at(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_600))
        );
    }

    #[test]
    fn parsing_is_strict_about_types_and_lenient_about_extensions() {
        assert!(IntrospectionResponse::from_json(b"{}").is_err());
        assert!(IntrospectionResponse::from_json(br#"{"active":"true"}"#).is_err());
        assert!(IntrospectionResponse::from_json(br#"{"active":true,"exp":"soon"}"#).is_err());
        assert!(IntrospectionResponse::from_json(br#"{"active":true,"scope":"a  b"}"#).is_err());
        assert!(IntrospectionResponse::from_json(b"not json").is_err());
        let r = IntrospectionResponse::from_json(
            br#"{"active":true,"aud":["x"],"extension_field":27,"token_type":"bearer"}"#,
        )
        .unwrap();
        assert!(r.is_active_access_token());
        let refresh = IntrospectionResponse::from_json(br#"{"active":true}"#).unwrap();
        assert!(!refresh.is_active_access_token());
    }

    #[test]
    fn http_rendering() {
        let r = IntrospectionResponse::inactive().into_http();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.headers()["pragma"], "no-cache");
    }
}
