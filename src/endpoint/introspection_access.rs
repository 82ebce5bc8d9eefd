//! Who may call the introspection endpoint, and about which tokens
//! (RFC 7662 §2.1, §4, §5).
//!
//! A caller is either a registered client, authenticated as at the token
//! endpoint, or a resource server presenting a bearer credential the host
//! configured with
//! [`ServerBuilder::introspection_credential`](crate::ServerBuilder::introspection_credential).
//! An [`IntrospectionPolicy`] then decides, token by token, what the caller
//! may learn; a refusal is answered exactly like an unknown token.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::client::{AuthenticatedClient, ClientId};
use crate::protocol::{ResourceSet, Scope, is_b64token};
use crate::store::{Actor, GrantId, Subject};
use crate::token::{TokenHash, TokenKind};

/// The shortest resource-server secret
/// [`ServerBuilder::introspection_credential`](crate::ServerBuilder::introspection_credential)
/// accepts, in characters. Generate it from a CSPRNG (32 random bytes in
/// base64 are 44 characters): it is stored as a single SHA-256, which only a
/// high-entropy secret makes safe (RFC 6819 §5.1.4.1.3).
pub const MIN_RESOURCE_SERVER_SECRET_LEN: usize = 32;

/// The longest resource-server name, in characters (it appears in logs).
pub const MAX_RESOURCE_SERVER_NAME_LEN: usize = 128;

/// Who is asking the introspection endpoint.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum IntrospectionCaller {
    /// A registered client that passed client authentication.
    Client(AuthenticatedClient),
    /// A resource server that presented its bearer credential.
    ResourceServer(ResourceServer),
}

/// A resource server, authenticated by the bearer credential the host
/// configured for it. Only the server makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceServer {
    name: Arc<str>,
}

impl ResourceServer {
    /// The name the host gave the credential.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A live token, as an [`IntrospectionPolicy`] sees it before the response
/// is built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntrospectedToken {
    /// [`TokenKind::AccessToken`] or [`TokenKind::RefreshToken`].
    pub kind: TokenKind,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner; `None` for a client acting on its own behalf.
    pub subject: Option<Subject>,
    /// The token's scope.
    pub scope: Scope,
    /// The resources it is for (RFC 8707): an access token's audience, a
    /// refresh token's grant's resources; empty when unrestricted.
    pub audience: ResourceSet,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
    /// The grant it belongs to.
    pub grant_id: GrantId,
    /// The authorization details it carries (RFC 9396 §9.2): an access
    /// token's own, which may be a subset of its grant's (§6.2); a refresh
    /// token's grant's.
    pub authorization_details: crate::protocol::AuthorizationDetails,
    /// For an access token issued by delegation (RFC 8693 §4.1): its actor.
    pub act: Option<Actor>,
    /// The key it is bound to (RFC 7800 §3.1, RFC 9449 §6); `None` for a
    /// bearer token.
    pub cnf: Option<crate::token::Confirmation>,
}

/// Decides whether a caller may learn about a token (RFC 7662 §4: the
/// server SHOULD require resource servers to be specifically authorized;
/// §5: user identifiers MUST NOT be disclosed to unintended parties).
///
/// Called only for a live token and an authenticated caller. A `false` is
/// answered `{"active":false}`, exactly like an unknown token, so a refused
/// caller learns nothing — not even that the token exists. Synchronous: a
/// decision on what the server already knows. A closure
/// `Fn(&IntrospectionCaller, &IntrospectedToken) -> bool` is a policy.
pub trait IntrospectionPolicy: Send + Sync + 'static {
    /// Whether `caller` may learn about `token`.
    fn allows(&self, caller: &IntrospectionCaller, token: &IntrospectedToken) -> bool;
}

impl<F> IntrospectionPolicy for F
where
    F: Fn(&IntrospectionCaller, &IntrospectedToken) -> bool + Send + Sync + 'static,
{
    fn allows(&self, caller: &IntrospectionCaller, token: &IntrospectedToken) -> bool {
        self(caller, token)
    }
}

#[allow(dead_code)]
fn _obj_safe(_: &dyn IntrospectionPolicy) {}

/// The default policy:
///
/// - a resource server with a configured credential may introspect every
///   token — that is what the credential is for;
/// - a client may introspect only tokens issued to itself, and only if it
///   authenticated with credentials. A public client is identified by its
///   `client_id`, which is no secret (RFC 6749 §2.3), so that is not the
///   authentication RFC 7662 §2.1 requires against token scanning: anyone
///   holding a leaked token could learn its subject and scope through it.
///   A host that wants public clients to introspect their own tokens says
///   so with a policy of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultIntrospectionPolicy;

impl IntrospectionPolicy for DefaultIntrospectionPolicy {
    fn allows(&self, caller: &IntrospectionCaller, token: &IntrospectedToken) -> bool {
        match caller {
            IntrospectionCaller::ResourceServer(_) => true,
            IntrospectionCaller::Client(client) => {
                client.is_confidential() && token.client_id == *client.id()
            }
        }
    }
}

/// A configured resource-server credential: a name and the SHA-256 of the
/// secret.
#[derive(Clone)]
struct Credential {
    name: Arc<str>,
    hash: TokenHash,
}

/// The introspection settings a server is built with.
pub(crate) struct IntrospectionSettings {
    credentials: Vec<Credential>,
    /// The first invalid credential the builder was given.
    invalid: Option<&'static str>,
    pub(crate) policy: Box<dyn IntrospectionPolicy>,
}

impl Default for IntrospectionSettings {
    fn default() -> Self {
        Self {
            credentials: Vec::new(),
            invalid: None,
            policy: Box::new(DefaultIntrospectionPolicy),
        }
    }
}

impl fmt::Debug for IntrospectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionSettings")
            .field(
                "resource_servers",
                &self
                    .credentials
                    .iter()
                    .map(|c| &*c.name)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl IntrospectionSettings {
    /// Adds a credential, remembering the first problem for `build`.
    pub(crate) fn add_credential(&mut self, name: &str, secret: &str) {
        if let Err(why) = self.try_add(name, secret) {
            self.invalid.get_or_insert(why);
        }
    }

    fn try_add(&mut self, name: &str, secret: &str) -> Result<(), &'static str> {
        if name.is_empty()
            || name.chars().count() > MAX_RESOURCE_SERVER_NAME_LEN
            || !name.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err("a resource server name must be 1 to 128 visible ASCII characters");
        }
        if secret.chars().count() < MIN_RESOURCE_SERVER_SECRET_LEN {
            return Err("a resource server secret must be at least 32 characters");
        }
        if !is_b64token(secret.as_bytes()) {
            return Err("a resource server secret must be a bearer token (RFC 6750 §2.1 b64token)");
        }
        let hash = TokenHash::of(secret);
        if self.credentials.iter().any(|c| &*c.name == name) {
            return Err("two resource server credentials have the same name");
        }
        if self.credentials.iter().any(|c| c.hash.ct_eq(&hash)) {
            return Err("two resource server credentials have the same secret");
        }
        self.credentials.push(Credential {
            name: Arc::from(name),
            hash,
        });
        Ok(())
    }

    /// Whether any resource server may authenticate with a bearer
    /// credential.
    pub(crate) fn has_resource_servers(&self) -> bool {
        !self.credentials.is_empty()
    }

    /// The first invalid credential's problem, for the builder.
    pub(crate) fn invalid(&self) -> Option<&'static str> {
        self.invalid
    }

    /// The resource server whose secret `presented` is. Every configured
    /// hash is compared, in constant time, whatever matched before.
    pub(crate) fn verify(&self, presented: &str) -> Option<ResourceServer> {
        let hash = TokenHash::of(presented);
        let mut found = None;
        for credential in &self.credentials {
            let matches = credential.hash.ct_eq(&hash);
            if matches && found.is_none() {
                found = Some(ResourceServer {
                    name: credential.name.clone(),
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCD";

    #[test]
    fn credentials_are_validated() {
        let invalid = |name: &str, secret: &str| {
            let mut s = IntrospectionSettings::default();
            s.add_credential(name, secret);
            s.invalid()
        };
        assert_eq!(invalid("orders-api", SECRET), None);
        // The limits themselves are allowed.
        let longest = "n".repeat(MAX_RESOURCE_SERVER_NAME_LEN);
        assert_eq!(invalid(&longest, SECRET), None);
        let shortest = &SECRET[..MIN_RESOURCE_SERVER_SECRET_LEN];
        assert_eq!(invalid("orders-api", shortest), None);
        assert!(invalid("orders-api", &shortest[1..]).is_some());
        assert!(invalid("", SECRET).is_some());
        assert!(invalid("orders api", SECRET).is_some());
        assert!(invalid(&"n".repeat(129), SECRET).is_some());
        assert!(invalid("orders-api", "short").is_some());
        assert!(invalid("orders-api", &format!("{SECRET} x")).is_some());

        let mut s = IntrospectionSettings::default();
        s.add_credential("a", SECRET);
        s.add_credential("a", &format!("{SECRET}x"));
        assert!(s.invalid().unwrap().contains("same name"));
        let mut s = IntrospectionSettings::default();
        s.add_credential("a", SECRET);
        s.add_credential("b", SECRET);
        assert!(s.invalid().unwrap().contains("same secret"));
    }

    #[test]
    fn verification_finds_the_right_server() {
        let mut s = IntrospectionSettings::default();
        assert!(!s.has_resource_servers());
        assert!(s.verify(SECRET).is_none());
        s.add_credential("a", SECRET);
        s.add_credential("b", &format!("{SECRET}b"));
        assert_eq!(s.verify(&format!("{SECRET}b")).unwrap().name(), "b");
        assert_eq!(s.verify(SECRET).unwrap().name(), "a");
        assert!(s.has_resource_servers());
        assert!(s.verify(&format!("{SECRET}c")).is_none());
        assert!(s.verify("").is_none());
    }

    fn a_token() -> IntrospectedToken {
        IntrospectedToken {
            kind: TokenKind::AccessToken,
            client_id: ClientId::new_unchecked("client"),
            subject: None,
            scope: Scope::empty(),
            audience: ResourceSet::empty(),
            issued_at: SystemTime::UNIX_EPOCH,
            expires_at: SystemTime::UNIX_EPOCH,
            grant_id: GrantId::generate(),
            authorization_details: crate::protocol::AuthorizationDetails::empty(),
            act: None,
            cnf: None,
        }
    }

    #[test]
    fn a_closure_is_a_policy_and_decides() {
        let mut s = IntrospectionSettings::default();
        s.add_credential("orders-api", SECRET);
        let caller = IntrospectionCaller::ResourceServer(s.verify(SECRET).unwrap());
        let token = a_token();
        let only_orders = |caller: &IntrospectionCaller, _: &IntrospectedToken| matches!(caller, IntrospectionCaller::ResourceServer(rs) if rs.name() == "orders-api");
        let never = |_: &IntrospectionCaller, _: &IntrospectedToken| false;
        let policies: [(&dyn IntrospectionPolicy, bool); 2] =
            [(&only_orders, true), (&never, false)];
        for (policy, allowed) in policies {
            assert_eq!(policy.allows(&caller, &token), allowed);
        }
    }

    /// The default policy lets a configured resource server introspect any
    /// token; its refusals of clients are tested through the endpoint
    /// (`tests/introspection.rs`), where authenticated clients are made.
    #[test]
    fn the_default_policy_admits_resource_servers() {
        let mut s = IntrospectionSettings::default();
        s.add_credential("orders-api", SECRET);
        let caller = IntrospectionCaller::ResourceServer(s.verify(SECRET).unwrap());
        assert!(DefaultIntrospectionPolicy.allows(&caller, &a_token()));
    }

    #[test]
    fn settings_debug_shows_names_only() {
        let mut s = IntrospectionSettings::default();
        s.add_credential("orders-api", SECRET);
        let shown = format!("{s:?}");
        assert!(shown.contains("orders-api") && !shown.contains(SECRET));
    }
}
