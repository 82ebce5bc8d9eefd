//! `application/x-www-form-urlencoded` parameters with the OAuth rules of
//! RFC 6749 §3.1 and §3.2.
//!
//! - A parameter sent without a value is treated as omitted (§3.1, §3.2).
//! - Unrecognised parameters are ignored (§3.1, §3.2): they are kept, but nothing
//!   reads them.
//! - A parameter MUST NOT be included more than once (§3.1, §3.2): reading a
//!   repeated parameter with [`Params::get`] is an error. Extensions that define a
//!   multi-valued parameter (RFC 8707 `resource`, say) read it with
//!   [`Params::get_all`].
//!
//! Decoding is strict where the WHATWG algorithm is lenient: a malformed
//! percent-escape or bytes that are not UTF-8 make the whole body invalid, because
//! a lossy decoding could let two parties disagree about a parameter's value.

use std::borrow::Cow;
use std::fmt;

/// The most parameters one request may carry; more is `invalid_request`.
///
/// No OAuth request needs more than a couple of dozen; the bound keeps lookups
/// (a linear scan, which beats hashing at these sizes) cheap for any input.
pub const MAX_PARAMS: usize = 64;

/// Why a form body or query string could not be parsed, or a parameter read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// A `%` not followed by two hexadecimal digits.
    #[error("malformed percent-encoding")]
    BadPercentEncoding,
    /// The decoded bytes are not UTF-8.
    #[error("parameters must be UTF-8")]
    NotUtf8,
    /// More than [`MAX_PARAMS`] parameters.
    #[error("too many parameters")]
    TooManyParams,
    /// A parameter that must appear at most once appeared more often (RFC 6749 §3.1).
    #[error("parameter `{0}` is repeated")]
    Repeated(String),
}

/// Decoded form parameters, in the order they were sent.
///
/// Values borrow from the input when no decoding was needed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    /// Parses an `application/x-www-form-urlencoded` body or query string.
    ///
    /// Pairs with an empty value are dropped (RFC 6749 §3.2: "treated as if they
    /// were omitted"), and so are empty names.
    pub fn parse(input: &'a [u8]) -> Result<Self, FormError> {
        // One validation of the whole input (the raw bytes must be UTF-8 too:
        // a byte outside it can never decode to valid text), then one pass
        // that splits pieces at `&` and `=` and notes which need decoding.
        let text = std::str::from_utf8(input).map_err(|_| FormError::NotUtf8)?;
        let mut pairs = Vec::with_capacity(EXPECTED_PARAMS);
        let mut start = 0;
        let mut eq = None;
        let mut escaped = false;
        let mut push = |start: usize, eq: Option<usize>, end: usize, escaped: bool| {
            let name = text.get(start..eq.unwrap_or(end)).unwrap_or_default();
            let value = eq.and_then(|e| text.get(e + 1..end)).unwrap_or_default();
            // Escapes are checked even in a piece that is then dropped: a
            // malformed body is refused whole.
            let (name, value) = if escaped {
                (decode_str(name)?, decode_str(value)?)
            } else {
                (Cow::Borrowed(name), Cow::Borrowed(value))
            };
            if !name.is_empty() && !value.is_empty() {
                if pairs.len() == MAX_PARAMS {
                    return Err(FormError::TooManyParams);
                }
                pairs.push((name, value));
            }
            Ok(())
        };
        for (i, &b) in text.as_bytes().iter().enumerate() {
            match b {
                b'&' => {
                    push(start, eq, i, escaped)?;
                    (start, eq, escaped) = (i + 1, None, false);
                }
                b'=' if eq.is_none() => eq = Some(i),
                b'%' | b'+' => escaped = true,
                _ => {}
            }
        }
        push(start, eq, text.len(), escaped)?;
        Ok(Self { pairs })
    }

    /// Builds parameters from name/value pairs (for hosts that parse HTTP
    /// themselves). Empty values are dropped, as in [`Params::parse`].
    pub fn from_pairs<I, N, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<Cow<'a, str>>,
        V: Into<Cow<'a, str>>,
    {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .filter(|(n, v)| !n.is_empty() && !v.is_empty())
                .collect(),
        }
    }

    /// The value of a single-valued parameter, `None` when absent.
    ///
    /// A repeated parameter is an error (RFC 6749 §3.1: "MUST NOT be included
    /// more than once").
    pub fn get(&self, name: &str) -> Result<Option<&str>, FormError> {
        let mut found = None;
        for (n, v) in &self.pairs {
            if n == name {
                if found.is_some() {
                    return Err(FormError::Repeated(name.to_owned()));
                }
                found = Some(v.as_ref());
            }
        }
        Ok(found)
    }

    /// Every value of a parameter an extension defines as multi-valued.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Every parameter, name and value, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// Whether the parameter is present at least once.
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    /// The number of (non-empty) parameters.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Copies borrowed values so the parameters outlive the input.
    pub fn into_owned(self) -> Params<'static> {
        Params {
            pairs: self
                .pairs
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }
}

/// Parameter values may be secrets (`client_secret`, `code`, `refresh_token`,
/// `password`), so only names are printed.
impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Params")
            .field(
                "names",
                &self.pairs.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Room for the parameters of a typical request, so the pairs take one
/// allocation that never grows.
const EXPECTED_PARAMS: usize = 8;

/// [`decode`] for input already known to be UTF-8: borrowed as it is unless it
/// holds an escape.
fn decode_str(input: &str) -> Result<Cow<'_, str>, FormError> {
    if input.bytes().any(|b| b == b'%' || b == b'+') {
        decode(input.as_bytes())
    } else {
        Ok(Cow::Borrowed(input))
    }
}

/// Percent-decodes one name or value, `+` meaning a space (RFC 6749 Appendix B).
pub(crate) fn decode(input: &[u8]) -> Result<Cow<'_, str>, FormError> {
    // Most values need no decoding and are borrowed as they are; `contains`
    // on a byte slice is core's vectorised memchr.
    if !input.contains(&b'%') && !input.contains(&b'+') {
        return std::str::from_utf8(input)
            .map(Cow::Borrowed)
            .map_err(|_| FormError::NotUtf8);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(|c| hex(*c));
                let lo = bytes.next().and_then(|c| hex(*c));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(FormError::BadPercentEncoding),
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| FormError::NotUtf8)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_escapes() {
        let p = Params::parse(b"a=b+c%2Bd&e=%C3%A9").unwrap();
        assert_eq!(p.get("a").unwrap(), Some("b c+d"));
        assert_eq!(p.get("e").unwrap(), Some("é"));
    }

    #[test]
    fn empty_values_are_omitted() {
        let p = Params::parse(b"scope=&grant_type=x&=y&flag").unwrap();
        assert_eq!(p.get("scope").unwrap(), None);
        assert!(!p.contains("flag"));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn repeated_is_an_error_only_when_read_as_single() {
        let p = Params::parse(b"a=1&a=2&b=3").unwrap();
        assert_eq!(p.get("a"), Err(FormError::Repeated("a".into())));
        assert_eq!(p.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(p.get("b").unwrap(), Some("3"));
    }

    #[test]
    fn strict_decoding() {
        assert_eq!(Params::parse(b"a=%zz"), Err(FormError::BadPercentEncoding));
        assert_eq!(Params::parse(b"a=%4"), Err(FormError::BadPercentEncoding));
        assert_eq!(Params::parse(b"a=%FF"), Err(FormError::NotUtf8));
        assert_eq!(Params::parse(b"a=\xff"), Err(FormError::NotUtf8));
    }

    #[test]
    fn bounded_parameter_count() {
        let body = (0..=MAX_PARAMS)
            .map(|i| format!("p{i}=v"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            Params::parse(body.as_bytes()),
            Err(FormError::TooManyParams)
        );
    }

    #[test]
    fn debug_hides_values() {
        let p = Params::parse(b"client_secret=hunter2").unwrap();
        let shown = format!("{p:?}");
        assert!(shown.contains("client_secret"));
        assert!(!shown.contains("hunter2"));
    }
}
