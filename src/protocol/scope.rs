//! Access token scope (RFC 6749 §3.3).
//!
//! ```text
//! scope       = scope-token *( SP scope-token )
//! scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//! ```
//!
//! Scope tokens are case-sensitive and their order does not matter, so a
//! [`Scope`] is a set: parsing sorts and de-duplicates. Parsing is strict —
//! leading, trailing or doubled spaces are not the grammar above and are refused,
//! so client and server can never disagree about which tokens were asked for.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The longest scope string accepted, in bytes. Longer is `invalid_scope`.
pub const MAX_SCOPE_LEN: usize = 4096;

/// A scope string that is not `scope-token *( SP scope-token )`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope is not a space-delimited list of scope tokens (RFC 6749 §3.3)")]
pub struct InvalidScope;

/// A set of scope tokens (RFC 6749 §3.3).
///
/// ```
/// use portcullis::protocol::Scope;
/// let asked: Scope = "write read".parse()?;
/// let allowed: Scope = "read write admin".parse()?;
/// assert!(asked.is_subset(&allowed));
/// assert_eq!(asked.to_string(), "read write");
/// # Ok::<(), portcullis::protocol::InvalidScope>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    tokens: BTreeSet<String>,
}

impl Scope {
    /// The empty scope.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds a scope from tokens, validating each.
    pub fn from_tokens<I, T>(tokens: I) -> Result<Self, InvalidScope>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let mut set = BTreeSet::new();
        for token in tokens {
            let token = token.into();
            if !is_scope_token(&token) {
                return Err(InvalidScope);
            }
            set.insert(token);
        }
        Ok(Self { tokens: set })
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.tokens.is_subset(&other.tokens)
    }

    /// Whether the scope holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.tokens.contains(token)
    }

    /// Whether the scope has no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The tokens, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(String::as_str)
    }

    /// The tokens in both scopes.
    pub fn intersection(&self, other: &Scope) -> Scope {
        Scope {
            tokens: self.tokens.intersection(&other.tokens).cloned().collect(),
        }
    }
}

fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl FromStr for Scope {
    type Err = InvalidScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_SCOPE_LEN {
            return Err(InvalidScope);
        }
        // `split(' ')` yields an empty token for a leading, trailing or doubled
        // space, which `is_scope_token` refuses.
        Self::from_tokens(s.split(' '))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.tokens {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({self})")
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s.is_empty() {
            return Ok(Scope::empty());
        }
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorted_and_deduplicated() {
        let s: Scope = "b a b".parse().unwrap();
        assert_eq!(s.to_string(), "a b");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn rejects_what_the_grammar_rejects() {
        for bad in ["", " a", "a ", "a  b", "a\"b", "a\\b", "é", "a\tb"] {
            assert_eq!(bad.parse::<Scope>(), Err(InvalidScope), "{bad:?}");
        }
        assert!("a:b/c!#[]~".parse::<Scope>().is_ok());
    }

    #[test]
    fn subset_and_intersection() {
        let a: Scope = "read".parse().unwrap();
        let b: Scope = "read write".parse().unwrap();
        assert!(a.is_subset(&b));
        assert!(!b.is_subset(&a));
        assert_eq!(b.intersection(&a), a);
        assert!(Scope::empty().is_subset(&a));
    }
}
