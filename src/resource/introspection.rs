//! Reading an RFC 7662 introspection response, for a resource server that asks
//! its authorization server over HTTP.
//!
//! The host makes the call (RFC 7662 §2.1) with its own HTTP client, parses
//! the body with [`IntrospectionResponse::from_json`], and turns it into
//! [`TokenInfo`] with [`TokenInfo::from_introspection`], which fails closed.

use std::time::SystemTime;

use super::TokenInfo;
use crate::client::{ClientId, MAX_CLIENT_ID_LEN};
use crate::protocol::IntrospectionResponse;
use crate::store::Subject;

impl TokenInfo {
    /// The token's information if `response` shows an active bearer access
    /// token from `expected_issuer`, at `now`; `None` otherwise:
    ///
    /// - it is not [`is_active_access_token`](IntrospectionResponse::is_active_access_token):
    ///   `active` is `false`, or `token_type` is not `Bearer` — portcullis
    ///   answers a refresh token as active *without* a `token_type`, so a
    ///   response without one is refused rather than read as an access token;
    /// - `exp` is at or before `now`, or `nbf` after it (RFC 7662 §4: a
    ///   response is not trusted past its `exp`, even if cached), or either
    ///   is beyond what `SystemTime` can represent;
    /// - `iss` is present and not exactly `expected_issuer` (string
    ///   comparison, no normalisation: portcullis's own issuer is
    ///   [`AuthorizationServer::issuer`](crate::AuthorizationServer::issuer)`()`,
    ///   exactly as configured);
    /// - `client_id` is not a client identifier as this crate issues them.
    ///
    /// A `DPoP` token (RFC 9449 §6.2) is accepted with its `cnf`, which the
    /// validator then holds the request to.
    ///
    /// An absent `iss` is accepted: it is optional in RFC 7662, and the
    /// response came from the endpoint the host called.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use portcullis::protocol::IntrospectionResponse;
    /// use portcullis::resource::TokenInfo;
    ///
    /// let body = br#"{"active":true,"scope":"read write","client_id":"s6BhdRkqt3",
    ///                 "sub":"alice","iss":"https://auth.example/","token_type":"Bearer",
    ///                 "exp":1800000600,"iat":1800000000}"#;
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_100);
    /// let response = IntrospectionResponse::from_json(body)?;
    /// let info = TokenInfo::from_introspection(&response, "https://auth.example/", now)
    ///     .expect("active");
    /// assert_eq!(info.subject.unwrap().as_str(), "alice");
    ///
    /// // Revoked, expired or unknown: the server says only `active: false`.
    /// let inactive = IntrospectionResponse::from_json(br#"{"active":false}"#)?;
    /// assert!(TokenInfo::from_introspection(&inactive, "https://auth.example/", now).is_none());
    /// # Ok::<(), portcullis::protocol::InvalidIntrospectionResponse>(())
    /// ```
    pub fn from_introspection(
        response: &IntrospectionResponse,
        expected_issuer: &str,
        now: SystemTime,
    ) -> Option<TokenInfo> {
        if !response.is_active_access_token() {
            return None;
        }
        let expires_at = response.expires_at();
        let not_before = response.not_before();
        if expires_at.is_some_and(|exp| exp <= now) || not_before.is_some_and(|nbf| nbf > now) {
            return None;
        }
        // A time present but beyond `SystemTime` (only in a response the host
        // filled in itself; `from_json` refuses one) cannot be checked: fail
        // closed rather than read it as absent.
        if (response.exp.is_some() && expires_at.is_none())
            || (response.nbf.is_some() && not_before.is_none())
        {
            return None;
        }
        if response
            .iss
            .as_deref()
            .is_some_and(|iss| iss != expected_issuer)
        {
            return None;
        }
        let client_id = match response.client_id.as_deref() {
            None => None,
            // The rule every client_id in this crate follows.
            Some(id)
                if !id.is_empty()
                    && id.len() <= MAX_CLIENT_ID_LEN
                    && id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(ClientId::new_unchecked(id))
            }
            Some(_) => return None,
        };
        Some(TokenInfo {
            client_id,
            subject: response.sub.as_deref().map(Subject::new),
            scope: response.scope.clone().unwrap_or_default(),
            issued_at: response.issued_at(),
            expires_at,
            grant_id: None,
            audience: response
                .aud
                .as_ref()
                .map(|aud| aud.values().to_vec())
                .unwrap_or_default(),
            cnf: response.cnf.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn info(json: &str, now: u64) -> Option<TokenInfo> {
        let response = IntrospectionResponse::from_json(json.as_bytes()).unwrap();
        TokenInfo::from_introspection(&response, "i", at(now))
    }

    #[test]
    fn not_before_in_the_future_is_inactive() {
        let json = r#"{"active":true,"token_type":"Bearer","nbf":100}"#;
        assert!(info(json, 99).is_none());
        assert!(info(json, 100).is_some());
    }

    #[test]
    fn a_client_id_this_crate_would_never_issue_is_inactive() {
        let json = r#"{"active":true,"token_type":"Bearer","client_id":"has space"}"#;
        assert!(info(json, 0).is_none());
    }
}
