//! Claims about the End-User, from the host (OpenID Connect Core 1.0 §5).

use std::fmt;

use serde_json::{Map, Value};

use crate::client::ClientId;
use crate::erased::BoxFuture;
use crate::protocol::Scope;

/// The claims the `profile` scope asks for (Core §5.4).
pub const PROFILE_CLAIMS: [&str; 14] = [
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];

/// The claims the `email` scope asks for (Core §5.4).
pub const EMAIL_CLAIMS: [&str; 2] = ["email", "email_verified"];

/// The claims the `address` scope asks for (Core §5.4).
pub const ADDRESS_CLAIMS: [&str; 1] = ["address"];

/// The claims the `phone` scope asks for (Core §5.4).
pub const PHONE_CLAIMS: [&str; 2] = ["phone_number", "phone_number_verified"];

/// Claims the provider sets itself: a [`ClaimsSource`] cannot set them
/// (they are dropped from what it returns).
pub const PROVIDER_CLAIMS: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "cnf",
];

/// The standard claims a scope value asks for (Core §5.4): `profile`,
/// `email`, `address`, `phone`.
pub fn scope_claims(scope: &Scope) -> impl Iterator<Item = &'static str> + '_ {
    scope
        .iter()
        .flat_map(|value| -> &'static [&'static str] {
            match value {
                "profile" => &PROFILE_CLAIMS,
                "email" => &EMAIL_CLAIMS,
                "address" => &ADDRESS_CLAIMS,
                "phone" => &PHONE_CLAIMS,
                _ => &[],
            }
        })
        .copied()
}

/// Claims about an End-User (Core §5.1): a JSON object of claim names and
/// values, as the host's [`ClaimsSource`] returns them.
///
/// Standard claims must have their standard types (Core §5.1):
/// `email_verified` and `phone_number_verified` booleans, `updated_at` a
/// number, `address` an object, every other standard claim a string. A
/// value of another type is dropped when the claims are released, and so
/// are the claims the provider sets itself ([`PROVIDER_CLAIMS`]).
#[derive(Clone, Default, PartialEq)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// No claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name` with `value`.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets `name` to `value`.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(name.into(), value.into());
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Every claim.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The claims among these that `wanted` names (a name also selects its
    /// language-tagged forms, `name#de-CH`, Core §5.2), with their standard
    /// types, never a provider claim.
    pub(crate) fn release<'w>(&self, wanted: impl Fn(&str) -> bool + 'w) -> Map<String, Value> {
        self.0
            .iter()
            .filter(|(name, value)| {
                let base = name.split('#').next().unwrap_or(name);
                wanted(base) && !PROVIDER_CLAIMS.contains(&base) && has_standard_type(base, value)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Claims are personal data: the names only.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl From<Map<String, Value>> for Claims {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

/// Whether `value` has the type Core §5.1 gives the standard claim `name`
/// (anything, for a claim that is not standard).
fn has_standard_type(name: &str, value: &Value) -> bool {
    match name {
        "email_verified" | "phone_number_verified" => value.is_boolean(),
        "updated_at" => value.is_number(),
        "address" => value.is_object(),
        _ if PROFILE_CLAIMS.contains(&name)
            || EMAIL_CLAIMS.contains(&name)
            || PHONE_CLAIMS.contains(&name) =>
        {
            value.is_string()
        }
        _ => true,
    }
}

/// Where claims are going: the ID token or the UserInfo response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClaimsDestination {
    /// The ID token (Core §2), signed and handed to the client.
    IdToken,
    /// The UserInfo response (Core §5.3).
    UserInfo,
}

/// What the provider asks a [`ClaimsSource`] for.
#[derive(Debug)]
#[non_exhaustive]
pub struct ClaimsQuery<'a> {
    /// The End-User, as the host identifies them (the subject it approved
    /// with), never the pairwise identifier the client sees.
    pub subject: &'a str,
    /// The client the claims are released to.
    pub client_id: &'a ClientId,
    /// The claims wanted, by name; the source may return fewer (those it
    /// does not have, or will not release) and any extra are dropped.
    pub names: Vec<&'a str>,
    /// The End-User's preferred languages for claim values
    /// (`claims_locales`, Core §5.2), preferred first.
    pub locales: &'a [String],
    /// Where the claims go.
    pub destination: ClaimsDestination,
}

/// Why a [`ClaimsSource`] could not answer: the provider answers
/// `server_error` and never says why.
#[derive(Debug, thiserror::Error)]
#[error("the claims source failed")]
pub struct ClaimsError(#[source] Box<dyn std::error::Error + Send + Sync>);

impl ClaimsError {
    /// Wraps the cause.
    pub fn new(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(cause.into())
    }
}

/// The host's End-User claims (OpenID Connect Core 1.0 §5): the one seam
/// between the provider and the host's user directory.
///
/// The provider decides which claims are wanted — the ID token's
/// (`claims` request, Core §5.5) and UserInfo's (scope values, §5.4, and
/// the `claims` request) — and asks for those names only; the source
/// returns what it has. `Ok(None)` means the subject no longer exists:
/// UserInfo answers `invalid_token` and a token request `invalid_grant`.
///
/// # Contract
///
/// Return only claims about `subject`, and only what the End-User agreed
/// to release to `client_id`. The source is never asked for `sub`: the
/// provider sets it (public or pairwise, Core §8).
pub trait ClaimsSource: Send + Sync + 'static {
    /// The claims `query` asks for, or `None` for an unknown subject.
    fn claims<'a>(
        &'a self,
        query: ClaimsQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<Claims>, ClaimsError>>;
}

/// A [`ClaimsSource`] holding each subject's claims in memory: for tests,
/// examples, and hosts whose few users are configuration.
#[derive(Debug, Clone, Default)]
pub struct StaticClaims {
    users: std::collections::HashMap<String, Claims>,
}

impl StaticClaims {
    /// No users.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `subject` with `claims`.
    pub fn user(mut self, subject: impl Into<String>, claims: Claims) -> Self {
        self.users.insert(subject.into(), claims);
        self
    }
}

impl ClaimsSource for StaticClaims {
    fn claims<'a>(
        &'a self,
        query: ClaimsQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<Claims>, ClaimsError>> {
        let found = self
            .users
            .get(query.subject)
            .map(|claims| Claims(claims.release(|name| query.names.contains(&name))));
        Box::pin(std::future::ready(Ok(found)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_values_ask_for_their_standard_claims() {
        let scope = Scope::from_tokens(["openid", "email", "phone"]).unwrap();
        let claims: Vec<_> = scope_claims(&scope).collect();
        assert_eq!(
            claims,
            [
                "email",
                "email_verified",
                "phone_number",
                "phone_number_verified"
            ]
        );
    }

    #[test]
    fn release_keeps_wanted_well_typed_claims_and_never_provider_claims() {
        let claims = Claims::new()
            .with("email", "a@example.com")
            .with("email_verified", "yes")
            .with("name#de", "Anna")
            .with("sub", "forged")
            .with("updated_at", 1_700_000_000)
            .with("custom", serde_json::json!({"x": 1}));
        let released = claims.release(|_| true);
        let names: Vec<_> = released.keys().map(String::as_str).collect();
        assert_eq!(names, ["custom", "email", "name#de", "updated_at"]);
        let only_email = claims.release(|n| n == "email");
        assert_eq!(only_email.len(), 1);
        assert!(!format!("{claims:?}").contains("a@example.com"));
    }
}
