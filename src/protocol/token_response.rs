//! The successful token response (RFC 6749 §5.1).

use std::time::Duration;

use http::{Response, StatusCode};
use serde::ser::{SerializeMap as _, Serializer as _};

use super::Scope;
use super::error::json_response;
use crate::token::{AccessToken, RefreshToken};

/// A successful access token response (RFC 6749 §5.1).
///
/// Serialises to the JSON body with `access_token`, `token_type`, `expires_in`,
/// and — when present — `refresh_token`, `scope` and extension members.
#[derive(Debug)]
pub struct TokenResponse {
    access_token: AccessToken,
    token_type: &'static str,
    expires_in: Option<Duration>,
    refresh_token: Option<RefreshToken>,
    scope: Option<Scope>,
    id_token: Option<String>,
    extra: Vec<(String, serde_json::Value)>,
    /// The `DPoP-Nonce` response header (RFC 9449 §8.2), when the server
    /// rotated its nonce.
    dpop_nonce: Option<http::HeaderValue>,
}

/// Whether `s` can go between JSON quotes as it is: bytes 0x20–0x7E except
/// `"` and `\`. Branch-free, so it vectorises.
fn is_plain_json_text(s: &str) -> bool {
    s.bytes().fold(true, |ok, b| {
        ok & (0x20..=0x7E).contains(&b) & (b != b'"') & (b != b'\\')
    })
}

/// Appends `n` in decimal: the formatting machinery costs more than the
/// number's few digits.
fn push_decimal(out: &mut String, mut n: u64) {
    // u64::MAX has 20 digits.
    let mut digits = [b'0'; 20];
    let mut len = 0;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    let start = digits.len() - len;
    let text = digits.get(start..).unwrap_or_default();
    // ASCII digits, always UTF-8.
    out.push_str(std::str::from_utf8(text).unwrap_or_default());
}

impl TokenResponse {
    /// A bearer token response (RFC 6750).
    pub fn bearer(access_token: AccessToken) -> Self {
        Self {
            access_token,
            token_type: "Bearer",
            expires_in: None,
            refresh_token: None,
            scope: None,
            id_token: None,
            extra: Vec::new(),
            dpop_nonce: None,
        }
    }

    /// A DPoP-bound token response (RFC 9449 §5): `token_type` `DPoP`.
    pub fn dpop(access_token: AccessToken) -> Self {
        Self {
            token_type: "DPoP",
            ..Self::bearer(access_token)
        }
    }

    /// Adds the `DPoP-Nonce` header: the nonce the client's next proof
    /// carries (RFC 9449 §8.2).
    pub fn with_dpop_nonce(mut self, nonce: http::HeaderValue) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    /// The `DPoP-Nonce` header, if set.
    pub fn dpop_nonce(&self) -> Option<&http::HeaderValue> {
        self.dpop_nonce.as_ref()
    }

    /// Sets `expires_in` (RFC 6749 §5.1: RECOMMENDED).
    pub fn with_expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_in = Some(lifetime);
        self
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, token: RefreshToken) -> Self {
        self.refresh_token = Some(token);
        self
    }

    /// Sets `scope`, which RFC 6749 §5.1 requires when the issued scope differs
    /// from the requested one.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Sets the ID token (OpenID Connect Core 1.0 §3.1.3.3): a compact JWS,
    /// which is plain base64url and dots.
    pub fn with_id_token(mut self, id_token: String) -> Self {
        self.id_token = Some(id_token);
        self
    }

    /// The ID token, if one was issued.
    pub fn id_token(&self) -> Option<&str> {
        self.id_token.as_deref()
    }

    /// Adds an extension member (RFC 6749 §5.1 "other parameters"). A name that
    /// collides with a standard member is ignored.
    pub fn with_extra(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        let name = name.into();
        let reserved = [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
            "id_token",
        ];
        if !reserved.contains(&name.as_str()) && !self.extra.iter().any(|(n, _)| *n == name) {
            self.extra.push((name, value));
        }
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The token type: `Bearer`, or `DPoP` for a DPoP-bound token.
    pub fn token_type(&self) -> &str {
        self.token_type
    }

    /// `expires_in`, if set.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }

    /// The refresh token, if one was issued.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// `scope`, if included.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// The JSON body. This is where the tokens' plaintext leaves the server.
    pub fn to_json(&self) -> Vec<u8> {
        self.to_json_direct()
            .unwrap_or_else(|| self.to_json_serde())
    }

    /// Writes the body without an escaping pass when every string is plain
    /// (visible ASCII and space, no `"` or `\`) — always true of the tokens
    /// this crate mints (base64url) and of scopes (RFC 6749 §3.3 excludes both
    /// characters). `None` sends anything else through `serde_json`.
    fn to_json_direct(&self) -> Option<Vec<u8>> {
        if !self.extra.is_empty() {
            return None;
        }
        let access = self.access_token.expose_secret();
        let refresh = self.refresh_token.as_ref().map(RefreshToken::expose_secret);
        let scope = self.scope.as_ref().map(Scope::as_str);
        let id_token = self.id_token.as_deref();
        let plain = [
            Some(access),
            Some(self.token_type),
            refresh,
            scope,
            id_token,
        ]
        .into_iter()
        .flatten()
        .all(is_plain_json_text);
        if !plain {
            return None;
        }
        let mut out = String::with_capacity(
            112 + access.len()
                + refresh.map_or(0, str::len)
                + scope.map_or(0, str::len)
                + id_token.map_or(0, str::len),
        );
        out.push_str("{\"access_token\":\"");
        out.push_str(access);
        out.push_str("\",\"token_type\":\"");
        out.push_str(self.token_type);
        out.push('"');
        if let Some(expires_in) = self.expires_in {
            out.push_str(",\"expires_in\":");
            push_decimal(&mut out, expires_in.as_secs());
        }
        if let Some(refresh) = refresh {
            out.push_str(",\"refresh_token\":\"");
            out.push_str(refresh);
            out.push('"');
        }
        if let Some(scope) = scope {
            out.push_str(",\"scope\":\"");
            out.push_str(scope);
            out.push('"');
        }
        if let Some(id_token) = id_token {
            out.push_str(",\"id_token\":\"");
            out.push_str(id_token);
            out.push('"');
        }
        out.push('}');
        Some(out.into_bytes())
    }

    fn to_json_serde(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192);
        let mut ser = serde_json::Serializer::new(&mut out);
        // Writing strings and numbers into a Vec cannot fail; should it ever,
        // the caller gets an empty body rather than a panic.
        if self.write(&mut ser).is_err() {
            return Vec::new();
        }
        out
    }

    fn write(&self, ser: &mut serde_json::Serializer<&mut Vec<u8>>) -> serde_json::Result<()> {
        let mut map = ser.serialize_map(None)?;
        map.serialize_entry("access_token", self.access_token.expose_secret())?;
        map.serialize_entry("token_type", self.token_type)?;
        if let Some(expires_in) = self.expires_in {
            map.serialize_entry("expires_in", &expires_in.as_secs())?;
        }
        if let Some(refresh) = &self.refresh_token {
            map.serialize_entry("refresh_token", refresh.expose_secret())?;
        }
        if let Some(scope) = &self.scope {
            map.serialize_entry("scope", scope)?;
        }
        if let Some(id_token) = &self.id_token {
            map.serialize_entry("id_token", id_token)?;
        }
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }

    /// Renders the response: 200, JSON, `Cache-Control: no-store`,
    /// `Pragma: no-cache` (RFC 6749 §5.1).
    pub fn into_http(self) -> Response<Vec<u8>> {
        let mut response = json_response(StatusCode::OK, self.to_json());
        if let Some(nonce) = self.dpop_nonce {
            response
                .headers_mut()
                .insert(super::DPOP_NONCE_HEADER, nonce);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(r: &TokenResponse) -> (serde_json::Value, serde_json::Value) {
        (
            serde_json::from_slice(&r.to_json()).unwrap(),
            serde_json::from_slice(&r.to_json_serde()).unwrap(),
        )
    }

    #[test]
    fn direct_writer_matches_serde() {
        let r = TokenResponse::bearer(AccessToken::new("pc_at_abc-_09"))
            .with_expires_in(Duration::from_secs(600))
            .with_refresh_token(RefreshToken::new("pc_rt_xyz"))
            .with_scope("b a:x!#".parse().unwrap())
            .with_id_token("eyJh.eyJz.c2ln".to_owned());
        assert!(r.to_json_direct().is_some());
        let (direct, serde) = both(&r);
        assert_eq!(direct, serde);
        assert_eq!(direct["scope"], "a:x!# b");
        assert_eq!(direct["expires_in"], 600);
        assert_eq!(direct["id_token"], "eyJh.eyJz.c2ln");
        let minimal = TokenResponse::bearer(AccessToken::new("t"));
        let (direct, serde) = both(&minimal);
        assert_eq!(direct, serde);
        assert_eq!(
            direct,
            serde_json::json!({"access_token": "t", "token_type": "Bearer"})
        );
    }

    #[test]
    fn decimal() {
        for n in [0, 7, 10, 600, 86_400, u64::MAX] {
            let mut out = String::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn values_needing_escapes_go_through_serde() {
        for odd in ["a\"b", "a\\b", "line\nbreak", "é", "\u{7f}"] {
            let r = TokenResponse::bearer(AccessToken::new(odd));
            assert!(r.to_json_direct().is_none(), "{odd:?}");
            let parsed: serde_json::Value = serde_json::from_slice(&r.to_json()).unwrap();
            assert_eq!(parsed["access_token"], odd);
        }
        let extra = TokenResponse::bearer(AccessToken::new("t")).with_extra("x", 1.into());
        assert!(extra.to_json_direct().is_none());
        let parsed: serde_json::Value = serde_json::from_slice(&extra.to_json()).unwrap();
        assert_eq!(parsed["x"], 1);
    }
}
