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

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// The longest scope string accepted, in bytes. Longer is `invalid_scope`.
pub const MAX_SCOPE_LEN: usize = 4096;

/// A scope string that is not `scope-token *( SP scope-token )`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope is not a space-delimited list of scope tokens (RFC 6749 §3.3)")]
pub struct InvalidScope;

/// A set of scope tokens (RFC 6749 §3.3).
///
/// Held in canonical form — tokens sorted, de-duplicated, joined by single
/// spaces — behind an `Arc`, so equal sets compare equal as strings, cloning
/// is a reference-count increment, and one scope can be shared by a grant, its
/// tokens and a response. Set operations walk two sorted lists: linear time.
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
    /// `None` for the empty scope, so it costs no allocation.
    canonical: Option<Arc<str>>,
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
        T: AsRef<str>,
    {
        let owned: Vec<T> = tokens.into_iter().collect();
        let mut refs: Vec<&str> = owned.iter().map(AsRef::as_ref).collect();
        if !refs.iter().all(|t| is_scope_token(t)) {
            return Err(InvalidScope);
        }
        refs.sort_unstable();
        refs.dedup();
        Ok(Self::from_canonical(&refs.join(" ")))
    }

    fn from_canonical(canonical: &str) -> Self {
        Self {
            canonical: (!canonical.is_empty()).then(|| Arc::from(canonical)),
        }
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        let mut theirs = other.iter();
        'mine: for token in self.iter() {
            for candidate in theirs.by_ref() {
                match candidate.cmp(token) {
                    Ordering::Less => continue,
                    Ordering::Equal => continue 'mine,
                    Ordering::Greater => return false,
                }
            }
            return false;
        }
        true
    }

    /// Whether the scope holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// Whether the scope has no tokens.
    pub fn is_empty(&self) -> bool {
        self.canonical.is_none()
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The tokens, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.as_str().split(' ').filter(|t| !t.is_empty())
    }

    /// The canonical string: sorted tokens joined by single spaces; empty for
    /// the empty scope.
    pub fn as_str(&self) -> &str {
        self.canonical.as_deref().unwrap_or("")
    }

    /// The tokens in both scopes.
    pub fn intersection(&self, other: &Scope) -> Scope {
        let mut theirs = other.iter().peekable();
        let mut kept: Vec<&str> = Vec::new();
        for token in self.iter() {
            while theirs.next_if(|t| *t < token).is_some() {}
            if theirs.next_if_eq(&token).is_some() {
                kept.push(token);
            }
        }
        if kept.len() == self.len() {
            return self.clone();
        }
        Self::from_canonical(&kept.join(" "))
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
        let mut previous: Option<&str> = None;
        let mut canonical = true;
        for token in s.split(' ') {
            if !is_scope_token(token) {
                return Err(InvalidScope);
            }
            canonical &= previous.is_none_or(|p| p < token);
            previous = Some(token);
        }
        if canonical {
            // Already sorted and unique (the common case): one allocation.
            return Ok(Self::from_canonical(s));
        }
        Self::from_tokens(s.split(' '))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({self})")
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
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
    fn equal_sets_are_equal_however_written() {
        let a: Scope = "b a".parse().unwrap();
        let b: Scope = "a b a".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "a b");
        assert_eq!(Scope::from_tokens(["b", "a"]).unwrap(), a);
        assert!(Scope::from_tokens(["a b"]).is_err());
        assert!(Scope::empty().is_empty());
        assert_eq!(Scope::empty().len(), 0);
        assert_eq!(Scope::empty().iter().count(), 0);
    }

    #[test]
    fn subset_walks_both_lists() {
        let s = |x: &str| x.parse::<Scope>().unwrap();
        assert!(s("b d").is_subset(&s("a b c d e")));
        assert!(!s("b f").is_subset(&s("a b c d e")));
        assert!(!s("0").is_subset(&s("a b")));
        assert!(!s("z").is_subset(&s("a b")));
        assert!(!s("a").is_subset(&Scope::empty()));
        assert_eq!(s("a b c").intersection(&s("b c d")), s("b c"));
        assert_eq!(s("a").intersection(&s("b")), Scope::empty());
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
