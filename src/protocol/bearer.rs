//! The `Bearer` credentials of an `Authorization` header (RFC 6750 §2.1).
//!
//! One parser for every place portcullis reads a bearer credential: the
//! resource server's validator, the resource-server credentials of the
//! introspection endpoint, and the initial and registration access tokens of
//! dynamic registration. So a header means the same thing everywhere.

use http::header::{self, HeaderMap};

/// The longest token accepted from any location, in bytes; longer is
/// `invalid_request`. portcullis's own tokens are 49 bytes; this leaves room
/// for other servers' structured tokens.
pub const MAX_TOKEN_LEN: usize = 4096;

/// What a request's `Authorization` header carries, as far as the `Bearer`
/// scheme is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BearerCredential<'a> {
    /// No `Authorization` header, or one with another scheme.
    Absent,
    /// More than one `Authorization` header.
    Repeated,
    /// The `Bearer` scheme with credentials that are not
    /// `"Bearer" 1*SP b64token`, or a token longer than allowed.
    Malformed,
    /// A well-formed bearer token.
    Token(&'a str),
}

/// The bearer credential of `headers`, with tokens of at most `max_len`
/// bytes.
pub(crate) fn bearer_credential(headers: &HeaderMap, max_len: usize) -> BearerCredential<'_> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => BearerCredential::Absent,
        (Some(_), Some(_)) => BearerCredential::Repeated,
        (Some(value), None) => parse(value.as_bytes(), max_len),
    }
}

/// The `Authorization: DPoP` credential of `headers` (RFC 9449 §7.1): the
/// same token syntax as `Bearer`, under the `DPoP` scheme.
pub(crate) fn dpop_credential(headers: &HeaderMap, max_len: usize) -> BearerCredential<'_> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => BearerCredential::Absent,
        (Some(_), Some(_)) => BearerCredential::Repeated,
        (Some(value), None) => parse_scheme(value.as_bytes(), max_len, b"dpop"),
    }
}

/// One `Authorization` field value.
fn parse(value: &[u8], max_len: usize) -> BearerCredential<'_> {
    parse_scheme(value, max_len, b"bearer")
}

/// One `Authorization` field value of `scheme` (lower case).
fn parse_scheme<'v>(value: &'v [u8], max_len: usize, scheme_name: &[u8]) -> BearerCredential<'v> {
    // OWS around a field value is not part of it (RFC 9110 §5.5); a framework
    // may not have trimmed it.
    let value = value.trim_ascii();
    let (scheme, credentials) = match value.iter().position(|b| matches!(b, b' ' | b'\t')) {
        Some(space) => (
            value.get(..space).unwrap_or_default(),
            value.get(space..).unwrap_or_default(),
        ),
        None => (value, &[][..]),
    };
    // RFC 9110 §11.1: the scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case(scheme_name) {
        return BearerCredential::Absent;
    }
    // `"Bearer" 1*SP b64token`: spaces — only spaces; a tab among them is
    // not the grammar — then exactly one token.
    let spaces = credentials.iter().take_while(|b| **b == b' ').count();
    let token = credentials.get(spaces..).unwrap_or_default();
    if token.len() > max_len || spaces == 0 || !is_b64token(token) {
        return BearerCredential::Malformed;
    }
    // A b64token is ASCII, so this always succeeds.
    std::str::from_utf8(token).map_or(BearerCredential::Malformed, BearerCredential::Token)
}

/// Whether `b` may appear in a b64token before its `=` padding (RFC 6750
/// §2.1): `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`. Branch-free,
/// so a check over a whole token compiles to a few vector operations per 16
/// bytes: every request to a resource server takes this path.
#[inline]
fn is_b64token_char(b: u8) -> bool {
    // `b | 0x20` folds ASCII upper case onto lower case (and nothing else
    // onto a–z).
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+"
/// / "/" ) *"="`.
pub(crate) fn is_b64token(token: &[u8]) -> bool {
    let body = token.len() - token.iter().rev().take_while(|b| **b == b'=').count();
    // No early exit: a token is short, and the whole walk vectorises.
    body > 0
        && token
            .iter()
            .take(body)
            .fold(true, |ok, b| ok & is_b64token_char(*b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const MAX: usize = 4096;

    #[test]
    fn b64token_characters_are_the_grammars() {
        for b in 0..=255u8 {
            let expected =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_b64token_char(b), expected, "{b:#04x}");
        }
    }

    #[test]
    fn b64token_syntax() {
        for good in ["a", "mF_9.B5f-4.1JqM", "a+/~", "abc==", "A=", "abc-._~+/=="] {
            assert!(is_b64token(good.as_bytes()), "{good}");
        }
        for bad in ["", "=", "==", "a=b", "a b", "a,b", "a\"", "é", "a\t"] {
            assert!(!is_b64token(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn header_forms() {
        use BearerCredential::*;
        assert_eq!(parse(b"Bearer abc", MAX), Token("abc"));
        assert_eq!(parse(b"bEaReR   abc== ", MAX), Token("abc=="));
        assert_eq!(parse(b"Basic abc", MAX), Absent);
        assert_eq!(parse(b"Bearerabc", MAX), Absent);
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Bearer a b",
            b"Bearer\tabc",
            b"Bearer \tabc",
            b"Bearer  \t abc",
            b"Bearer a,b",
            b"Bearer \xff",
        ] {
            assert_eq!(parse(bad, MAX), Malformed, "{bad:?}");
        }
        let long = format!("Bearer {}", "a".repeat(MAX + 1));
        assert_eq!(parse(long.as_bytes(), MAX), Malformed);
        assert_eq!(parse(long.as_bytes(), MAX + 1), Token(&long[7..]));
    }

    #[test]
    fn headers_absent_or_repeated() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_credential(&headers, MAX), BearerCredential::Absent);
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        assert_eq!(
            bearer_credential(&headers, MAX),
            BearerCredential::Token("a")
        );
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        assert_eq!(bearer_credential(&headers, MAX), BearerCredential::Repeated);
    }
}
