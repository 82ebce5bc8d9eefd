//! Reading an RFC 7662 introspection response, for a resource server that asks
//! its authorization server over HTTP.
//!
//! The host makes the call (RFC 7662 §2.1) with its own HTTP client; this
//! module turns the JSON it gets back into [`TokenInfo`], failing closed.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::TokenInfo;
use crate::client::{ClientId, MAX_CLIENT_ID_LEN};
use crate::protocol::Scope;
use crate::store::Subject;

/// The body is not an introspection response: not a JSON object, no boolean
/// `active`, or a member of the wrong type or syntax (a `scope` that is not
/// RFC 6749 §3.3, a negative `exp`).
///
/// It says the authorization server misbehaved, not that the token is bad, so
/// a [`TokenSource`](super::TokenSource) reports it as an error (a `500`), not
/// as an inactive token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed introspection response: {0}")]
pub struct MalformedIntrospection(&'static str);

/// An introspection response (RFC 7662 §2.2), as a resource server reads it.
///
/// Only the members a resource server decides on are kept; others
/// (`username`, `aud`, `jti`, extensions) are ignored. Use
/// [`token_info`](Self::token_info) to decide: it applies the checks, and is
/// the only way to a [`TokenInfo`].
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use portcullis::resource::IntrospectedToken;
///
/// let body = br#"{"active":true,"scope":"read write","client_id":"s6BhdRkqt3",
///                 "sub":"alice","iss":"https://auth.example/","token_type":"Bearer",
///                 "exp":1800000600,"iat":1800000000}"#;
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_100);
/// let info = IntrospectedToken::parse(body)?
///     .token_info("https://auth.example/", now)
///     .expect("active");
/// assert_eq!(info.subject.unwrap().as_str(), "alice");
///
/// // Revoked, expired or unknown: the server says only `active: false`.
/// let inactive = IntrospectedToken::parse(br#"{"active":false}"#)?;
/// assert!(inactive.token_info("https://auth.example/", now).is_none());
/// # Ok::<(), portcullis::resource::MalformedIntrospection>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntrospectedToken {
    /// `active` (REQUIRED).
    pub active: bool,
    /// `scope`.
    pub scope: Option<Scope>,
    /// `client_id`.
    pub client_id: Option<ClientId>,
    /// `sub`.
    pub subject: Option<Subject>,
    /// `token_type`.
    pub token_type: Option<String>,
    /// `exp`.
    pub expires_at: Option<SystemTime>,
    /// `iat`.
    pub issued_at: Option<SystemTime>,
    /// `nbf`.
    pub not_before: Option<SystemTime>,
    /// `iss`.
    pub issuer: Option<String>,
}

/// The wire form; members are checked after parsing so each failure has its
/// own reason.
#[derive(Deserialize)]
struct Wire {
    active: Option<serde_json::Value>,
    scope: Option<serde_json::Value>,
    client_id: Option<serde_json::Value>,
    sub: Option<serde_json::Value>,
    token_type: Option<serde_json::Value>,
    exp: Option<serde_json::Value>,
    iat: Option<serde_json::Value>,
    nbf: Option<serde_json::Value>,
    iss: Option<serde_json::Value>,
}

/// An optional string member; JSON `null` counts as absent.
fn string(
    value: Option<serde_json::Value>,
    name: &'static str,
) -> Result<Option<String>, MalformedIntrospection> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(MalformedIntrospection(name)),
    }
}

/// An optional NumericDate (RFC 7519 §2): seconds since the epoch, which may
/// have a fraction; negative or absurd values are malformed.
fn time(
    value: Option<serde_json::Value>,
    name: &'static str,
) -> Result<Option<SystemTime>, MalformedIntrospection> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            let seconds = n
                .as_u64()
                .map(Duration::from_secs)
                .or_else(|| {
                    n.as_f64()
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                })
                .ok_or(MalformedIntrospection(name))?;
            SystemTime::UNIX_EPOCH
                .checked_add(seconds)
                .map(Some)
                .ok_or(MalformedIntrospection(name))
        }
        Some(_) => Err(MalformedIntrospection(name)),
    }
}

impl IntrospectedToken {
    /// Parses the JSON body of an introspection response.
    ///
    /// Strict about the members it reads — `active` must be a boolean,
    /// `scope` a valid scope string, times non-negative numbers, the others
    /// strings — and indifferent to any others.
    pub fn parse(json: &[u8]) -> Result<Self, MalformedIntrospection> {
        let wire: Wire = serde_json::from_slice(json)
            .map_err(|_| MalformedIntrospection("not a JSON object"))?;
        let active = match wire.active {
            Some(serde_json::Value::Bool(active)) => active,
            _ => return Err(MalformedIntrospection("active must be a boolean")),
        };
        let scope = match string(wire.scope, "scope must be a string")? {
            None => None,
            Some(s) if s.is_empty() => Some(Scope::empty()),
            Some(s) => Some(
                s.parse()
                    .map_err(|_| MalformedIntrospection("scope is not RFC 6749 §3.3"))?,
            ),
        };
        let client_id = match string(wire.client_id, "client_id must be a string")? {
            None => None,
            // The rule every client_id in this crate follows.
            Some(id)
                if !id.is_empty()
                    && id.len() <= MAX_CLIENT_ID_LEN
                    && id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(ClientId::new_unchecked(&id))
            }
            Some(_) => return Err(MalformedIntrospection("client_id is not a client id")),
        };
        Ok(Self {
            active,
            scope,
            client_id,
            subject: string(wire.sub, "sub must be a string")?.map(|s| Subject::new(&s)),
            token_type: string(wire.token_type, "token_type must be a string")?,
            expires_at: time(wire.exp, "exp must be a NumericDate")?,
            issued_at: time(wire.iat, "iat must be a NumericDate")?,
            not_before: time(wire.nbf, "nbf must be a NumericDate")?,
            issuer: string(wire.iss, "iss must be a string")?,
        })
    }

    /// The token's information if the response shows an active bearer
    /// access token from `expected_issuer`, at `now`; `None` otherwise:
    ///
    /// - `active` is `false`;
    /// - `token_type` is present and not `Bearer` (case-insensitive, RFC 6749
    ///   §5.1) — a refresh token, say;
    /// - `exp` is at or before `now`, or `nbf` after it (RFC 7662 §4: a
    ///   response is not trusted past its `exp`, even if cached);
    /// - `iss` is present and not exactly `expected_issuer` (string
    ///   comparison, no normalisation: portcullis's own issuer is
    ///   [`AuthorizationServer::issuer`](crate::AuthorizationServer::issuer)`().as_str()`,
    ///   with its trailing `/`).
    ///
    /// An absent `iss` is accepted: it is optional in RFC 7662, and the
    /// response came from the endpoint the host called.
    pub fn token_info(&self, expected_issuer: &str, now: SystemTime) -> Option<TokenInfo> {
        if !self.active {
            return None;
        }
        if self
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return None;
        }
        if self.expires_at.is_some_and(|exp| exp <= now)
            || self.not_before.is_some_and(|nbf| nbf > now)
        {
            return None;
        }
        if self
            .issuer
            .as_deref()
            .is_some_and(|iss| iss != expected_issuer)
        {
            return None;
        }
        Some(TokenInfo {
            client_id: self.client_id.clone(),
            subject: self.subject.clone(),
            scope: self.scope.clone().unwrap_or_default(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            grant_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn times_accept_fractions_and_refuse_nonsense() {
        let t = IntrospectedToken::parse(br#"{"active":true,"exp":10.5,"iat":null}"#).unwrap();
        assert_eq!(t.expires_at, Some(at(10) + Duration::from_millis(500)));
        assert_eq!(t.issued_at, None);
        for bad in [
            &br#"{"active":true,"exp":-1}"#[..],
            br#"{"active":true,"exp":"10"}"#,
            br#"{"active":true,"nbf":1e400}"#,
        ] {
            assert!(IntrospectedToken::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn not_before_in_the_future_is_inactive() {
        let t = IntrospectedToken::parse(br#"{"active":true,"nbf":100}"#).unwrap();
        assert!(t.token_info("i", at(99)).is_none());
        assert!(t.token_info("i", at(100)).is_some());
    }
}
