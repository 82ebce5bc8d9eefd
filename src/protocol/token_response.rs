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
    extra: Vec<(String, serde_json::Value)>,
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
            extra: Vec::new(),
        }
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

    /// The token type (`Bearer`).
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
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }

    /// Renders the response: 200, JSON, `Cache-Control: no-store`,
    /// `Pragma: no-cache` (RFC 6749 §5.1).
    pub fn into_http(self) -> Response<Vec<u8>> {
        json_response(StatusCode::OK, self.to_json())
    }
}
