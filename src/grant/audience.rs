//! Audiences (RFC 8707): the resources the server knows, which `resource`
//! a request may name, and what a token for an audience looks like —
//! its scope, format and lifetime.

use std::time::Duration;

use crate::jose::{Algorithm, KeySet};
use crate::protocol::{Resource, ResourceSet, Scope, TokenFormat};

/// How long a JWT access token lives when its resource sets no lifetime of
/// its own: 5 minutes, or the server's access-token lifetime if shorter.
pub const DEFAULT_JWT_LIFETIME: Duration = Duration::from_secs(300);

/// Why a `resource` was refused: `invalid_target` (RFC 8707 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetRefusal {
    /// Not an absolute URI without a fragment, or too many.
    Malformed,
    /// Not a resource the server knows.
    Unknown,
    /// Known, but none of the requested scopes applies to it.
    NoScope,
    /// Outside the resources the grant was authorized for.
    NotGranted,
    /// The grant does not support resource indicators.
    Unsupported,
}

impl TargetRefusal {
    /// The `error_description`.
    pub(crate) fn description(self) -> &'static str {
        match self {
            TargetRefusal::Malformed => "resource must be an absolute URI without a fragment",
            TargetRefusal::Unknown => "the resource is not known to this server",
            TargetRefusal::NoScope => "none of the requested scopes applies to the resource",
            TargetRefusal::NotGranted => "the resource is not among those authorized",
            TargetRefusal::Unsupported => "resource indicators are not supported with this grant",
        }
    }
}

/// What the server issues tokens for: its registered resources, its
/// signing keys, and the algorithm that signs JWT access tokens.
#[derive(Debug, Clone, Default)]
pub(crate) struct Audiences {
    /// Sorted by identifier.
    resources: Vec<Resource>,
    keys: KeySet,
    access_token_alg: Option<Algorithm>,
}

impl Audiences {
    pub(crate) fn new(
        mut resources: Vec<Resource>,
        keys: KeySet,
        access_token_alg: Option<Algorithm>,
    ) -> Self {
        resources.sort_by(|a, b| a.indicator().cmp(b.indicator()));
        Self {
            resources,
            keys,
            access_token_alg,
        }
    }

    /// Whether any resource is registered: only then can a grant have an
    /// audience.
    pub(crate) fn any(&self) -> bool {
        !self.resources.is_empty()
    }

    pub(crate) fn resources(&self) -> &[Resource] {
        &self.resources
    }

    pub(crate) fn keys(&self) -> &KeySet {
        &self.keys
    }

    pub(crate) fn access_token_alg(&self) -> Option<Algorithm> {
        self.access_token_alg
    }

    fn get(&self, indicator: &str) -> Option<&Resource> {
        self.resources
            .binary_search_by(|r| r.indicator().as_str().cmp(indicator))
            .ok()
            .and_then(|i| self.resources.get(i))
    }

    /// Checks a request's resources: each known, and each with a requested
    /// scope that applies to it.
    pub(crate) fn check(
        &self,
        requested: &ResourceSet,
        scope: &Scope,
    ) -> Result<(), TargetRefusal> {
        for indicator in requested.iter() {
            let resource = self.get(indicator.as_str()).ok_or(TargetRefusal::Unknown)?;
            if let Some(limit) = resource.scope_limit() {
                if scope.intersection(limit).is_empty() {
                    return Err(TargetRefusal::NoScope);
                }
            }
        }
        Ok(())
    }

    /// The audience of a token asked for with `requested` under a grant
    /// authorized for `granted`: the requested resources if any — within the
    /// granted ones, when the grant names any (a request may narrow, never
    /// widen) — else the granted ones.
    pub(crate) fn audience(
        &self,
        requested: &ResourceSet,
        granted: &ResourceSet,
    ) -> Result<ResourceSet, TargetRefusal> {
        if requested.is_empty() {
            return Ok(granted.clone());
        }
        if !granted.is_empty() && !requested.is_subset(granted) {
            return Err(TargetRefusal::NotGranted);
        }
        Ok(requested.clone())
    }

    /// The scope of a token for `audience`: `scope`, narrowed to the scopes
    /// that apply to its resources when every one of them limits them.
    pub(crate) fn token_scope(&self, audience: &ResourceSet, scope: &Scope) -> Scope {
        let mut applicable: Vec<&str> = Vec::new();
        for indicator in audience.iter() {
            match self.get(indicator.as_str()).and_then(Resource::scope_limit) {
                Some(limit) => applicable.extend(limit.iter()),
                None => return scope.clone(),
            }
        }
        if audience.is_empty() {
            return scope.clone();
        }
        Scope::from_tokens(applicable)
            .map(|limit| scope.intersection(&limit))
            .unwrap_or_else(|_| scope.clone())
    }

    /// The format of a token for `audience`: a JWT when any of its
    /// resources asks for one.
    pub(crate) fn format(&self, audience: &ResourceSet) -> TokenFormat {
        let jwt = audience.iter().any(|r| {
            self.get(r.as_str())
                .is_some_and(|r| r.token_format() == TokenFormat::Jwt)
        });
        if jwt {
            TokenFormat::Jwt
        } else {
            TokenFormat::Opaque
        }
    }

    /// The lifetime of a token for `audience`: the shortest of its
    /// resources' — each one's own, or for a JWT resource
    /// [`DEFAULT_JWT_LIFETIME`] (a self-contained token outlives a
    /// revocation, so it lives briefly), or `default` — and `default`
    /// without an audience.
    pub(crate) fn lifetime(&self, audience: &ResourceSet, default: Duration) -> Duration {
        audience
            .iter()
            .filter_map(|r| self.get(r.as_str()))
            .map(|r| match (r.lifetime(), r.token_format()) {
                (Some(own), _) => own,
                (None, TokenFormat::Jwt) => DEFAULT_JWT_LIFETIME.min(default),
                (None, _) => default,
            })
            .min()
            .unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ResourceIndicator;

    fn set(all: &[&str]) -> ResourceSet {
        ResourceSet::new(all.iter().map(|r| ResourceIndicator::new(r).unwrap()))
    }

    fn scope(s: &str) -> Scope {
        s.parse().unwrap()
    }

    fn audiences() -> Audiences {
        Audiences::new(
            vec![
                Resource::new("https://b.example")
                    .unwrap()
                    .scopes(scope("write"))
                    .access_token_lifetime(Duration::from_secs(60)),
                Resource::new("https://a.example")
                    .unwrap()
                    .scopes(scope("read"))
                    .jwt(),
                Resource::new("https://any.example").unwrap(),
            ],
            KeySet::new(),
            None,
        )
    }

    #[test]
    fn requests_name_known_resources_with_applicable_scopes() {
        let a = audiences();
        assert_eq!(
            a.check(&set(&["https://a.example"]), &scope("read x")),
            Ok(())
        );
        assert_eq!(
            a.check(&set(&["https://c.example"]), &scope("read")),
            Err(TargetRefusal::Unknown)
        );
        assert_eq!(
            a.check(&set(&["https://a.example"]), &scope("write")),
            Err(TargetRefusal::NoScope)
        );
        assert_eq!(a.check(&set(&["https://any.example"]), &scope("x")), Ok(()));
    }

    #[test]
    fn audiences_narrow_never_widen() {
        let a = audiences();
        let granted = set(&["https://a.example", "https://b.example"]);
        assert_eq!(
            a.audience(&ResourceSet::empty(), &granted),
            Ok(granted.clone())
        );
        assert_eq!(
            a.audience(&set(&["https://a.example"]), &granted),
            Ok(set(&["https://a.example"]))
        );
        assert_eq!(
            a.audience(&set(&["https://any.example"]), &granted),
            Err(TargetRefusal::NotGranted)
        );
        // An unrestricted grant may be narrowed to any resource.
        assert_eq!(
            a.audience(&set(&["https://any.example"]), &ResourceSet::empty()),
            Ok(set(&["https://any.example"]))
        );
    }

    #[test]
    fn scope_format_and_lifetime_follow_the_resources() {
        let a = audiences();
        let both = set(&["https://a.example", "https://b.example"]);
        assert_eq!(
            a.token_scope(&both, &scope("read write admin")),
            scope("read write")
        );
        assert_eq!(
            a.token_scope(
                &set(&["https://a.example", "https://any.example"]),
                &scope("read admin")
            ),
            scope("read admin")
        );
        assert_eq!(
            a.token_scope(&ResourceSet::empty(), &scope("admin")),
            scope("admin")
        );
        assert_eq!(a.format(&both), TokenFormat::Jwt);
        assert_eq!(a.format(&set(&["https://b.example"])), TokenFormat::Opaque);
        let default = Duration::from_secs(600);
        assert_eq!(a.lifetime(&both, default), Duration::from_secs(60));
        // A JWT resource without a lifetime of its own: short.
        assert_eq!(
            a.lifetime(&set(&["https://a.example"]), default),
            DEFAULT_JWT_LIFETIME
        );
        assert_eq!(a.lifetime(&set(&["https://any.example"]), default), default);
        assert_eq!(a.lifetime(&ResourceSet::empty(), default), default);
    }
}
