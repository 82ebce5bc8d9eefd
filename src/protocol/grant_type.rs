//! Grant types (RFC 6749 §4, §4.5) as an open set.

use std::borrow::Cow;
use std::fmt;

/// A `grant_type` value at the token endpoint.
///
/// Registered values have constants; an extension grant type is an absolute URI
/// (RFC 6749 §4.5), made with [`GrantType::extension`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantType(Cow<'static, str>);

impl GrantType {
    /// `authorization_code` (RFC 6749 §4.1.3).
    pub const AUTHORIZATION_CODE: Self = Self(Cow::Borrowed("authorization_code"));
    /// `implicit`: not a token-endpoint value, but the name client metadata uses
    /// for the implicit grant (RFC 6749 §4.2, RFC 7591 §2).
    pub const IMPLICIT: Self = Self(Cow::Borrowed("implicit"));
    /// `password` (RFC 6749 §4.3).
    pub const PASSWORD: Self = Self(Cow::Borrowed("password"));
    /// `client_credentials` (RFC 6749 §4.4).
    pub const CLIENT_CREDENTIALS: Self = Self(Cow::Borrowed("client_credentials"));
    /// `refresh_token` (RFC 6749 §6).
    pub const REFRESH_TOKEN: Self = Self(Cow::Borrowed("refresh_token"));
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
    pub const DEVICE_CODE: Self = Self(Cow::Borrowed(
        "urn:ietf:params:oauth:grant-type:device_code",
    ));
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
    pub const TOKEN_EXCHANGE: Self = Self(Cow::Borrowed(
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ));

    const REGISTERED: [Self; 6] = [
        Self::AUTHORIZATION_CODE,
        Self::IMPLICIT,
        Self::PASSWORD,
        Self::CLIENT_CREDENTIALS,
        Self::REFRESH_TOKEN,
        Self::DEVICE_CODE,
    ];

    /// An extension grant type. RFC 6749 §4.5 requires an absolute URI; anything
    /// else is refused with `None`.
    ///
    /// ```
    /// use portcullis::protocol::GrantType;
    /// assert!(GrantType::extension("urn:ietf:params:oauth:grant-type:jwt-bearer").is_some());
    /// assert!(GrantType::extension("my_grant").is_none());
    /// ```
    pub fn extension(uri: &str) -> Option<Self> {
        let parsed = url::Url::parse(uri).ok()?;
        // `Url` normalises; insist the value is already in normal form so the
        // string the client sends is exactly the one registered.
        (parsed.as_str() == uri && parsed.fragment().is_none())
            .then(|| Self(Cow::Owned(uri.to_owned())))
    }

    /// A registered value or an extension URI, as found in stored client
    /// metadata; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        Self::REGISTERED
            .into_iter()
            .find(|g| g.as_str() == value)
            .or_else(|| Self::extension(value))
    }

    /// The value as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
