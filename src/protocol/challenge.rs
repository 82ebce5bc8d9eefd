//! The `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).

use std::fmt;
use std::sync::Arc;

use http::header::HeaderValue;

use super::{ErrorCode, OAuthError, Scope};

/// A `realm` that is not 1 or more printable ASCII characters (%x20-7E).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a realm must be 1 or more printable ASCII characters")]
pub struct InvalidRealm;

/// The protection space a resource server names in its challenges
/// (RFC 6750 §3, RFC 9110 §11.5), e.g. `photos` or `https://api.example`.
///
/// Any printable ASCII, quotes and backslashes included: they are escaped
/// when the challenge is written. Cloning is cheap.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Realm(Arc<str>);

impl Realm {
    /// A realm, checked to be 1 or more printable ASCII characters.
    pub fn new(realm: &str) -> Result<Self, InvalidRealm> {
        if realm.is_empty() || !realm.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(InvalidRealm);
        }
        Ok(Self(Arc::from(realm)))
    }

    /// The realm as given (unescaped).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Realm {
    type Err = InvalidRealm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Debug for Realm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Realm({:?})", self.0)
    }
}

/// A `resource_metadata` URL that is not an absolute `http` or `https` URL
/// without a fragment, written in URI characters only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a resource metadata URL must be an absolute http or https URL without a fragment, \
     in printable ASCII other than space, '\"' and '\\'"
)]
pub struct InvalidMetadataUrl;

/// The URL of a protected resource's metadata document, as the
/// `resource_metadata` attribute of a challenge carries it (RFC 9728 §5.1).
///
/// Checked when made: an absolute `http` or `https` URL with a host and no
/// fragment, every character in the set RFC 6750 §3 allows a URI attribute
/// (`%x21 / %x23-5B / %x5D-7E`: printable ASCII but for space, `"` and
/// `\`), so the value never needs escaping and cannot break out of its
/// quotes. Kept as given. Cloning is cheap.
///
/// A resource server usually takes it from its document:
/// [`ProtectedResourceMetadata::resource_metadata_url`](crate::resource::ProtectedResourceMetadata::resource_metadata_url).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResourceMetadataUrl(Arc<str>);

impl ResourceMetadataUrl {
    /// The URL, checked (see the type's documentation).
    pub fn new(url: &str) -> Result<Self, InvalidMetadataUrl> {
        if url.is_empty() || !url.bytes().all(is_uri_attribute_char) {
            return Err(InvalidMetadataUrl);
        }
        let parsed = url::Url::parse(url).map_err(|_| InvalidMetadataUrl)?;
        let web = matches!(parsed.scheme(), "http" | "https");
        if !web || parsed.host().is_none() || parsed.fragment().is_some() {
            return Err(InvalidMetadataUrl);
        }
        Ok(Self(Arc::from(url)))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `%x21 / %x23-5B / %x5D-7E`: RFC 6750 §3's characters for `error_uri`,
/// which is a URI too.
fn is_uri_attribute_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl std::str::FromStr for ResourceMetadataUrl {
    type Err = InvalidMetadataUrl;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&url::Url> for ResourceMetadataUrl {
    type Error = InvalidMetadataUrl;

    /// The URL as the parser wrote it; refused if that still holds a `\`
    /// (a query may) or a fragment.
    fn try_from(url: &url::Url) -> Result<Self, Self::Error> {
        Self::new(url.as_str())
    }
}

impl fmt::Debug for ResourceMetadataUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceMetadataUrl({:?})", self.0)
    }
}

impl fmt::Display for ResourceMetadataUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `WWW-Authenticate` challenge with the `Bearer` scheme (RFC 6750 §3).
///
/// Attributes are written in a fixed order — `realm`, `error`,
/// `error_description`, `scope`, `resource_metadata` — each at most once, as
/// quoted strings separated by `", "`. The values cannot break out of their
/// quotes: the realm has `"` and `\` escaped as quoted-pairs (RFC 9110
/// §5.6.4), and the error, description, scope and resource metadata URL are
/// restricted to characters that need no escaping (RFC 6750 §3: no `"`, no
/// `\`).
///
/// `resource_metadata` (RFC 9728 §5.1) is the URL of the resource's metadata
/// document, from which a client that knows nothing of the resource learns
/// which authorization server to ask (the discovery MCP clients start with).
///
/// ```
/// use portcullis::protocol::{ErrorCode, OAuthError};
/// use portcullis::resource::{BearerChallenge, Realm};
///
/// let realm = Realm::new("photos")?;
/// // No credentials in the request: no error attribute (RFC 6750 §3.1).
/// assert_eq!(BearerChallenge::new(realm.clone()).to_string(), r#"Bearer realm="photos""#);
///
/// let challenge = BearerChallenge::new(realm)
///     .error(OAuthError::new(ErrorCode::INSUFFICIENT_SCOPE))
///     .scope("photos:write".parse()?);
/// assert_eq!(
///     challenge.to_header_value(),
///     r#"Bearer realm="photos", error="insufficient_scope", scope="photos:write""#,
/// );
///
/// // RFC 9728 §5.1: where the resource's metadata is.
/// let challenge = BearerChallenge::new(Realm::new("photos")?)
///     .scope("photos:read".parse()?)
///     .resource_metadata(
///         "https://photos.example/.well-known/oauth-protected-resource".parse()?,
///     );
/// assert_eq!(
///     challenge.to_string(),
///     "Bearer realm=\"photos\", scope=\"photos:read\", \
///      resource_metadata=\"https://photos.example/.well-known/oauth-protected-resource\"",
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    realm: Realm,
    error: Option<OAuthError>,
    scope: Option<Scope>,
    resource_metadata: Option<ResourceMetadataUrl>,
}

impl BearerChallenge {
    /// A challenge with only a `realm`: the answer to a request without
    /// credentials (RFC 6750 §3.1).
    pub fn new(realm: Realm) -> Self {
        Self {
            realm,
            error: None,
            scope: None,
            resource_metadata: None,
        }
    }

    /// Adds `error` and, if the error has one, `error_description`. The
    /// description must never carry a secret or internal detail; its
    /// characters are already restricted by [`OAuthError::with_description`].
    pub fn error(mut self, error: OAuthError) -> Self {
        self.error = Some(error);
        self
    }

    /// Adds `scope`: the scope needed to access the resource. An empty scope
    /// adds nothing.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = (!scope.is_empty()).then_some(scope);
        self
    }

    /// Adds `resource_metadata`: the URL of the protected resource's
    /// metadata document (RFC 9728 §5.1).
    pub fn resource_metadata(mut self, url: ResourceMetadataUrl) -> Self {
        self.resource_metadata = Some(url);
        self
    }

    /// The scope named, if any.
    pub fn required_scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// The resource metadata URL named, if any (RFC 9728 §5.1).
    pub fn metadata_url(&self) -> Option<&ResourceMetadataUrl> {
        self.resource_metadata.as_ref()
    }

    /// The realm.
    pub fn realm(&self) -> &Realm {
        &self.realm
    }

    /// The error, if any.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        self.error.as_ref()
    }

    /// The header value.
    pub fn to_header_value(&self) -> HeaderValue {
        // Every part is printable ASCII (checked or sanitised when set), so the
        // conversion cannot fail; the fallback is still a valid challenge.
        HeaderValue::from_str(&self.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"protected\""))
    }
}

/// The challenge of the authorization server's own endpoints that take
/// bearer credentials — introspection by a resource server (RFC 7662 §2.1),
/// dynamic registration and client management (RFC 7591 §3, RFC 7592 §3):
/// the issuer as the realm, and `error="invalid_token"` when a credential
/// was presented (RFC 6750 §3.1).
pub(crate) fn server_challenge(issuer: &str, presented: bool) -> HeaderValue {
    // An issuer is a URL, always a valid realm; the fallbacks are still
    // valid challenges.
    let Ok(realm) = Realm::new(issuer) else {
        return HeaderValue::from_static(if presented {
            "Bearer error=\"invalid_token\""
        } else {
            "Bearer"
        });
    };
    let challenge = BearerChallenge::new(realm);
    if presented {
        challenge
            .error(OAuthError::new(ErrorCode::INVALID_TOKEN))
            .to_header_value()
    } else {
        challenge.to_header_value()
    }
}

/// Writes `value` as a quoted-string, escaping `"` and `\`.
fn quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer realm=")?;
        quoted(f, self.realm.as_str())?;
        if let Some(error) = &self.error {
            f.write_str(", error=")?;
            quoted(f, error.code().as_str())?;
            if let Some(description) = error.description() {
                f.write_str(", error_description=")?;
                quoted(f, description)?;
            }
        }
        if let Some(scope) = &self.scope {
            f.write_str(", scope=")?;
            quoted(f, scope.as_str())?;
        }
        if let Some(url) = &self.resource_metadata {
            f.write_str(", resource_metadata=")?;
            quoted(f, url.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_own_challenge_names_the_issuer() {
        assert_eq!(
            server_challenge("https://auth.example/", true),
            "Bearer realm=\"https://auth.example/\", error=\"invalid_token\""
        );
        assert_eq!(
            server_challenge("https://auth.example/", false),
            "Bearer realm=\"https://auth.example/\""
        );
        assert_eq!(
            server_challenge("bad\nissuer", true),
            "Bearer error=\"invalid_token\""
        );
    }

    #[test]
    fn realm_rules() {
        assert!(Realm::new("").is_err());
        assert!(Realm::new("a\tb").is_err());
        assert!(Realm::new("a\nb").is_err());
        assert!(Realm::new("é").is_err());
        assert!(Realm::new("https://api.example/ \"x\" \\").is_ok());
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        let c = BearerChallenge::new(Realm::new(r#"a "b" \c"#).unwrap());
        assert_eq!(c.to_string(), r#"Bearer realm="a \"b\" \\c""#);
        assert_eq!(c.to_header_value(), c.to_string().as_str());
    }

    #[test]
    fn description_cannot_break_out() {
        let c = BearerChallenge::new(Realm::new("r").unwrap()).error(
            OAuthError::new(ErrorCode::INVALID_TOKEN).with_description("x\", scope=\"admin"),
        );
        assert_eq!(
            c.to_string(),
            r#"Bearer realm="r", error="invalid_token", error_description="x?, scope=?admin""#
        );
    }

    #[test]
    fn resource_metadata_urls_need_no_escaping() {
        for good in [
            "https://rs.example/.well-known/oauth-protected-resource",
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/api/me",
            "https://rs.example/.well-known/oauth-protected-resource/a?x=1",
        ] {
            assert_eq!(ResourceMetadataUrl::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "/relative",
            "ftp://rs.example/x",
            "https://rs.example/x#frag",
            "https://rs.example/\"x",
            "https://rs.example/x\", scope=\"admin",
            "https://rs.example/a\\b",
            "https://rs.example/a b",
            "https://rs.example/\u{e9}",
            "mailto:a@rs.example",
        ] {
            assert_eq!(
                ResourceMetadataUrl::new(bad),
                Err(InvalidMetadataUrl),
                "{bad:?}"
            );
        }
        // The URL parser leaves a backslash in a query as it is.
        let parsed = url::Url::parse("https://rs.example/x?a\\b").unwrap();
        assert!(ResourceMetadataUrl::try_from(&parsed).is_err());
    }

    #[test]
    fn resource_metadata_comes_last() {
        let url =
            ResourceMetadataUrl::new("https://rs.example/.well-known/oauth-protected-resource")
                .unwrap();
        let c = BearerChallenge::new(Realm::new("r").unwrap())
            .error(OAuthError::new(ErrorCode::INVALID_TOKEN))
            .scope("read".parse().unwrap())
            .resource_metadata(url.clone());
        assert_eq!(
            c.to_string(),
            "Bearer realm=\"r\", error=\"invalid_token\", scope=\"read\", \
             resource_metadata=\"https://rs.example/.well-known/oauth-protected-resource\""
        );
        assert_eq!(c.metadata_url(), Some(&url));
        assert_eq!(c.to_header_value(), c.to_string().as_str());
    }

    #[test]
    fn empty_scope_is_left_out() {
        let c = BearerChallenge::new(Realm::new("r").unwrap()).scope(Scope::empty());
        assert_eq!(c.to_string(), r#"Bearer realm="r""#);
    }
}
