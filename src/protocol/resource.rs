//! Resource indicators (RFC 8707): the `resource` parameter, the sets of
//! resources a grant and a token are for, and the resources a host
//! registers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::form::Params;
use super::scope::Scope;

/// The longest resource identifier accepted, in bytes.
pub const MAX_RESOURCE_LEN: usize = 2048;

/// The most `resource` parameters one request may carry.
pub const MAX_RESOURCES_PER_REQUEST: usize = 16;

/// A `resource` value that is not an absolute URI without a fragment
/// (RFC 8707 §2), or is too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a resource is an absolute URI without a fragment (RFC 8707 §2)")]
pub struct InvalidResource;

/// A resource indicator: the absolute URI of a protected resource, without a
/// fragment (RFC 8707 §2). Compared as an exact string, as it was
/// registered. Cloning is cheap.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceIndicator(Arc<str>);

impl ResourceIndicator {
    /// Checks `value`: an absolute URI (a scheme, then `:`), no fragment, no
    /// space or control character, at most [`MAX_RESOURCE_LEN`] bytes.
    pub fn new(value: &str) -> Result<Self, InvalidResource> {
        if value.is_empty()
            || value.len() > MAX_RESOURCE_LEN
            || value.contains('#')
            || !value.bytes().all(|b| (0x21..=0x7e).contains(&b))
        {
            return Err(InvalidResource);
        }
        url::Url::parse(value).map_err(|_| InvalidResource)?;
        Ok(Self(Arc::from(value)))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResourceIndicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceIndicator({})", self.0)
    }
}

impl fmt::Display for ResourceIndicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ResourceIndicator {
    type Err = InvalidResource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A set of resource indicators: the audience a grant was authorized for,
/// or an access token is restricted to. Empty means unrestricted (no
/// `resource` was asked for). Sorted and de-duplicated; cloning is cheap,
/// and the set is one pointer wide (the memory store keeps one in every
/// access token's entry).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceSet(Option<Arc<Vec<ResourceIndicator>>>);

impl ResourceSet {
    /// The empty set: no audience restriction.
    pub fn empty() -> Self {
        Self(None)
    }

    /// A set of `resources`.
    pub fn new(resources: impl IntoIterator<Item = ResourceIndicator>) -> Self {
        let mut all: Vec<ResourceIndicator> = resources.into_iter().collect();
        all.sort();
        all.dedup();
        if all.is_empty() {
            Self(None)
        } else {
            Self(Some(Arc::new(all)))
        }
    }

    /// The `resource` parameters of a request (RFC 8707 §2): each checked,
    /// at most [`MAX_RESOURCES_PER_REQUEST`].
    pub fn from_params(params: &Params<'_>) -> Result<Self, InvalidResource> {
        if params.get_all("resource").next().is_none() {
            return Ok(Self(None));
        }
        let mut all = Vec::new();
        for value in params.get_all("resource") {
            if all.len() == MAX_RESOURCES_PER_REQUEST {
                return Err(InvalidResource);
            }
            all.push(ResourceIndicator::new(value)?);
        }
        Ok(Self::new(all))
    }

    /// The resources, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &ResourceIndicator> {
        self.0.iter().flat_map(|all| all.iter())
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |all| all.len())
    }

    /// Whether there are none: no audience restriction.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Whether `resource` is in the set.
    pub fn contains(&self, resource: &str) -> bool {
        self.iter().any(|r| r.as_str() == resource)
    }

    /// Whether every resource of `self` is in `other`.
    pub fn is_subset(&self, other: &ResourceSet) -> bool {
        self.iter().all(|r| other.contains(r.as_str()))
    }

    /// The set as stored: the identifiers joined by single spaces (no
    /// identifier contains one), `""` for none.
    pub fn to_stored(&self) -> String {
        let mut stored = String::new();
        for (i, r) in self.iter().enumerate() {
            if i > 0 {
                stored.push(' ');
            }
            stored.push_str(r.as_str());
        }
        stored
    }

    /// A set read back from [`to_stored`](Self::to_stored)'s form.
    pub fn from_stored(stored: &str) -> Result<Self, InvalidResource> {
        if stored.is_empty() {
            return Ok(Self::empty());
        }
        stored
            .split(' ')
            .map(ResourceIndicator::new)
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }
}

impl fmt::Debug for ResourceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|r| r.as_str()))
            .finish()
    }
}

/// The format of the access tokens issued for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TokenFormat {
    /// An opaque handle, stored hashed; the resource asks the server
    /// (introspection, RFC 7662, or in process).
    #[default]
    Opaque,
    /// An RFC 9068 JWT, signed with the server's key and verifiable by the
    /// resource from the JWKS — and stored hashed too, so that it
    /// introspects and revokes like an opaque one.
    Jwt,
}

/// A protected resource the server issues audience-restricted tokens for
/// (RFC 8707): its identifier, the scopes that apply to it, the format
/// and lifetime of its access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    indicator: ResourceIndicator,
    scopes: Option<Scope>,
    format: TokenFormat,
    access_token_lifetime: Option<Duration>,
}

impl Resource {
    /// The resource `identifier` (an absolute URI without a fragment), any
    /// scope, opaque tokens, the server's access-token lifetime.
    pub fn new(identifier: &str) -> Result<Self, InvalidResource> {
        Ok(Self {
            indicator: ResourceIndicator::new(identifier)?,
            scopes: None,
            format: TokenFormat::Opaque,
            access_token_lifetime: None,
        })
    }

    /// Only these scopes apply to the resource: a token for it carries the
    /// requested scope narrowed to them, and a request with none of them
    /// is `invalid_target`.
    #[must_use]
    pub fn scopes(mut self, scopes: Scope) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Tokens for the resource are RFC 9068 JWTs.
    #[must_use]
    pub fn jwt(mut self) -> Self {
        self.format = TokenFormat::Jwt;
        self
    }

    /// The format of its access tokens.
    #[must_use]
    pub fn format(mut self, format: TokenFormat) -> Self {
        self.format = format;
        self
    }

    /// Its access tokens live `lifetime`. Without it, they live the server's
    /// access-token lifetime — or, for JWTs, at most
    /// [`DEFAULT_JWT_LIFETIME`](crate::grant::DEFAULT_JWT_LIFETIME): a
    /// self-contained token stays valid at a resource that validates it
    /// locally until it expires, whatever happens to its grant.
    #[must_use]
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = Some(lifetime);
        self
    }

    /// The identifier.
    pub fn indicator(&self) -> &ResourceIndicator {
        &self.indicator
    }

    /// The scopes that apply, if limited.
    pub fn scope_limit(&self) -> Option<&Scope> {
        self.scopes.as_ref()
    }

    /// The token format.
    pub fn token_format(&self) -> TokenFormat {
        self.format
    }

    /// The access-token lifetime, if the resource sets its own.
    pub fn lifetime(&self) -> Option<Duration> {
        self.access_token_lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicators_are_absolute_uris_without_fragments() {
        for ok in [
            "https://api.example",
            "https://api.example/v1/",
            "http://127.0.0.1:8080/api/me",
            "urn:example:resource",
            "https://api.example/?tenant=a",
        ] {
            assert_eq!(ResourceIndicator::new(ok).unwrap().as_str(), ok);
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_RESOURCE_LEN));
        for bad in [
            "",
            "/relative",
            "api.example",
            "https://api.example/#frag",
            "https://api.example/ x",
            "https://api.example/\u{e9}",
            long.as_str(),
        ] {
            assert_eq!(
                ResourceIndicator::new(bad),
                Err(InvalidResource),
                "{bad:.40}"
            );
        }
    }

    #[test]
    fn sets_are_canonical_and_round_trip() {
        let p = Params::parse(b"resource=https%3A%2F%2Fb.example&resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example").unwrap();
        let set = ResourceSet::from_params(&p).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.to_stored(), "https://a.example https://b.example");
        assert_eq!(ResourceSet::from_stored(&set.to_stored()).unwrap(), set);
        assert_eq!(ResourceSet::from_stored("").unwrap(), ResourceSet::empty());
        let a = ResourceSet::new([ResourceIndicator::new("https://a.example").unwrap()]);
        assert!(a.is_subset(&set));
        assert!(!set.is_subset(&a));
        assert!(ResourceSet::empty().is_subset(&a));
        let bad = Params::parse(b"resource=relative").unwrap();
        assert!(ResourceSet::from_params(&bad).is_err());
        let many: String = (0..=MAX_RESOURCES_PER_REQUEST)
            .map(|i| format!("resource=https%3A%2F%2F{i}.example&"))
            .collect();
        assert!(
            ResourceSet::from_params(
                &Params::parse(many.trim_end_matches('&').as_bytes()).unwrap()
            )
            .is_err()
        );
    }
}
