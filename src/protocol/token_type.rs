//! Token type identifiers (RFC 8693 §3): what `subject_token_type`,
//! `actor_token_type`, `requested_token_type` and `issued_token_type` name.

use std::borrow::Cow;
use std::fmt;

/// A token type identifier of token exchange (RFC 8693 §3), an absolute
/// URI. Registered values have constants; any other URI is kept as sent.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenType(Cow<'static, str>);

impl TokenType {
    /// `urn:ietf:params:oauth:token-type:access_token`: an OAuth 2.0 access
    /// token issued by the server (RFC 8693 §3).
    pub const ACCESS_TOKEN: Self = Self(Cow::Borrowed(
        "urn:ietf:params:oauth:token-type:access_token",
    ));
    /// `urn:ietf:params:oauth:token-type:refresh_token` (RFC 8693 §3).
    pub const REFRESH_TOKEN: Self = Self(Cow::Borrowed(
        "urn:ietf:params:oauth:token-type:refresh_token",
    ));
    /// `urn:ietf:params:oauth:token-type:id_token`: an OpenID Connect ID
    /// token (RFC 8693 §3).
    pub const ID_TOKEN: Self = Self(Cow::Borrowed("urn:ietf:params:oauth:token-type:id_token"));
    /// `urn:ietf:params:oauth:token-type:jwt`: a JWT (RFC 7519; RFC 8693
    /// §3).
    pub const JWT: Self = Self(Cow::Borrowed("urn:ietf:params:oauth:token-type:jwt"));
    /// `urn:ietf:params:oauth:token-type:saml1` (RFC 8693 §3).
    pub const SAML1: Self = Self(Cow::Borrowed("urn:ietf:params:oauth:token-type:saml1"));
    /// `urn:ietf:params:oauth:token-type:saml2` (RFC 8693 §3).
    pub const SAML2: Self = Self(Cow::Borrowed("urn:ietf:params:oauth:token-type:saml2"));

    /// A token type as a request names it: any absolute URI (RFC 8693 §3:
    /// "a URI"); `None` for anything else.
    ///
    /// ```
    /// use portcullis::protocol::TokenType;
    /// assert_eq!(
    ///     TokenType::parse("urn:ietf:params:oauth:token-type:access_token"),
    ///     Some(TokenType::ACCESS_TOKEN)
    /// );
    /// assert!(TokenType::parse("access_token").is_none());
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::ACCESS_TOKEN,
            Self::REFRESH_TOKEN,
            Self::ID_TOKEN,
            Self::JWT,
            Self::SAML1,
            Self::SAML2,
        ]
        .into_iter()
        .find(|t| t.as_str() == value)
        .or_else(|| {
            let parsed = url::Url::parse(value).ok()?;
            (parsed.as_str() == value).then(|| Self(Cow::Owned(value.to_owned())))
        })
    }

    /// The value as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenType({})", self.0)
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
