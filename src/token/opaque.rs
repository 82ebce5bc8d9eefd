//! The opaque token format and its hashing.
//!
//! A token is a short type prefix followed by 256 bits from a CSPRNG in
//! unpadded base64url (43 characters), e.g. `pc_at_Qm9…`. The prefix lets secret
//! scanners and log filters recognise a leaked token and lets the server reject a
//! token of the wrong kind without a store lookup. The server keeps only the
//! SHA-256 of the whole token (RFC 6819 §5.1.4.1.3): a stolen store yields no
//! usable token, and because tokens carry 256 bits of entropy a fast hash is
//! enough — there is nothing to brute-force.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::secret::secret_type;

/// Random bytes in every token and generated secret (256 bits, RFC 6819 §5.1.4.2.2).
pub const TOKEN_ENTROPY_BYTES: usize = 32;

/// Length of the base64url body of a token: 32 bytes, unpadded.
const BODY_LEN: usize = 43;

/// The kinds of opaque secret the server mints, each with its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// An access token: `pc_at_`.
    AccessToken,
    /// A refresh token: `pc_rt_`.
    RefreshToken,
    /// An authorization code: `pc_ac_`.
    AuthorizationCode,
    /// A generated client secret: `pc_cs_`.
    ClientSecret,
    /// The handle of a pending authorization request: `pc_ar_`.
    AuthorizationRequest,
    /// A device code (RFC 8628 §3.2): `pc_dc_`.
    DeviceCode,
    /// A registration access token, for managing a dynamically registered
    /// client (RFC 7592 §3): `pc_ra_`.
    RegistrationAccessToken,
    /// The secret part of a pushed authorization request's `request_uri`
    /// (RFC 9126 §2.2): `pc_pr_`.
    PushedRequest,
}

impl TokenKind {
    /// The prefix that marks a token of this kind.
    pub const fn prefix(self) -> &'static str {
        match self {
            TokenKind::AccessToken => "pc_at_",
            TokenKind::RefreshToken => "pc_rt_",
            TokenKind::AuthorizationCode => "pc_ac_",
            TokenKind::ClientSecret => "pc_cs_",
            TokenKind::AuthorizationRequest => "pc_ar_",
            TokenKind::DeviceCode => "pc_dc_",
            TokenKind::RegistrationAccessToken => "pc_ra_",
            TokenKind::PushedRequest => "pc_pr_",
        }
    }

    /// Whether `token` has this kind's shape: the prefix and a 43-character
    /// base64url body. A cheap filter before any lookup; it says nothing about
    /// whether the token was issued.
    pub fn matches(self, token: &str) -> bool {
        token
            .strip_prefix(self.prefix())
            .is_some_and(|body| body.len() == BODY_LEN && is_base64url(body.as_bytes()))
    }
}

/// Whether every byte of `s` is in the base64url alphabet (RFC 4648 §5):
/// `ALPHA / DIGIT / "-" / "_"` — the syntax of a token's body and of a PKCE
/// `S256` challenge (RFC 7636 §4.2). A syntax check only: the `base64` crate
/// decodes, and nothing here needs the bytes.
///
/// Branch-free and without an early exit, so the check over a whole token
/// compiles to a few vector operations: it runs on every bearer check,
/// where a byte-by-byte test with an early exit cost about 300 instructions
/// more (callgrind, BENCHMARKS.md, 2026-12-07).
pub(crate) fn is_base64url(s: &[u8]) -> bool {
    s.iter().fold(true, |ok, &b| {
        // `b | 0x20` folds ASCII upper case onto lower case (and nothing
        // else onto a–z).
        // mutants: equivalent — any `|` between the four classes replaced
        // by `^`: a byte is in at most one of them (letter, digit, `-`,
        // `_`), and of terms at most one of which is true, exclusive or is
        // or.
        ok & (((b | 0x20).wrapping_sub(b'a') < 26)
            | (b.wrapping_sub(b'0') < 10)
            | (b == b'-')
            | (b == b'_'))
    })
}

/// The SHA-256 of a token or secret: what the store keeps and looks up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token as presented.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Wraps a digest read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time equality, for comparing against a stored hash.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        crate::secret::digests_equal(&self.0, &other.0)
    }

    /// The digest as 64 lowercase hex digits, for stores that keep text.
    pub fn to_hex(&self) -> String {
        use std::fmt::Write as _;
        let mut hex = String::with_capacity(64);
        for b in self.0 {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{b:02x}");
        }
        hex
    }

    /// Parses the form [`to_hex`](Self::to_hex) writes (either case); `None`
    /// for anything else.
    pub fn from_hex(hex: &str) -> Option<Self> {
        fn nibble(digit: u8) -> Option<u8> {
            char::from(digit)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        }
        if hex.len() != 64 {
            return None;
        }
        let mut digest = [0u8; 32];
        for (out, pair) in digest.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let [high, low] = *pair else {
                return None;
            };
            // mutants: equivalent — `^` for `|`: the high nibble shifted
            // left and the low nibble share no bit.
            *out = nibble(high)? << 4 | nibble(low)?;
        }
        Some(Self(digest))
    }
}

/// Shows a short prefix of the digest only: enough to correlate log lines, not
/// enough to serve as a lookup key.
impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(")?;
        for b in self.0.iter().take(4) {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…)")
    }
}

/// Mints a fresh token of `kind`, returning the plaintext and its hash.
pub(crate) fn mint(kind: TokenKind) -> (String, TokenHash) {
    let mut bytes = [0u8; TOKEN_ENTROPY_BYTES];
    // ThreadRng is a CSPRNG (ChaCha12) seeded from the OS and reseeded
    // periodically; it avoids a system call per token.
    rand::rng().fill_bytes(&mut bytes);
    let prefix = kind.prefix();
    let mut token = String::with_capacity(prefix.len() + BODY_LEN);
    token.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut token);
    let hash = TokenHash::of(&token);
    (token, hash)
}

secret_type! {
    /// An access token (RFC 6749 §1.4) as issued to the client.
    AccessToken
}

secret_type! {
    /// A refresh token (RFC 6749 §1.5) as issued to the client.
    RefreshToken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_have_their_kind_and_hash() {
        let (token, hash) = mint(TokenKind::AccessToken);
        assert!(TokenKind::AccessToken.matches(&token));
        assert!(!TokenKind::RefreshToken.matches(&token));
        assert_eq!(token.len(), 6 + 43);
        assert!(hash.ct_eq(&TokenHash::of(&token)));
    }

    #[test]
    fn the_body_is_32_bytes_of_unpadded_base64url() {
        assert_eq!(
            base64::encoded_len(TOKEN_ENTROPY_BYTES, false),
            Some(BODY_LEN)
        );
        let (token, _) = mint(TokenKind::RefreshToken);
        let body = token.strip_prefix("pc_rt_").unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(body).unwrap().len(),
            TOKEN_ENTROPY_BYTES
        );
    }

    #[test]
    fn hashes_differing_in_any_bit_are_unequal() {
        let a = TokenHash::from_bytes([7u8; 32]);
        assert!(a.ct_eq(&a));
        for i in 0..32 {
            for bit in 0..8 {
                let mut b = *a.as_bytes();
                b[i] ^= 1 << bit;
                assert!(!a.ct_eq(&TokenHash::from_bytes(b)), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn minted_tokens_differ() {
        let (a, _) = mint(TokenKind::AccessToken);
        let (b, _) = mint(TokenKind::AccessToken);
        assert_ne!(a, b);
    }

    #[test]
    fn base64url_characters_are_the_alphabet() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            assert_eq!(is_base64url(&[b]), expected, "{b:#04x}");
        }
        assert!(is_base64url(b""));
    }

    #[test]
    fn shape_check_refuses_near_misses() {
        let (token, _) = mint(TokenKind::AccessToken);
        assert!(!TokenKind::AccessToken.matches(&token[..token.len() - 1]));
        assert!(!TokenKind::AccessToken.matches(&format!("{token}A")));
        assert!(!TokenKind::AccessToken.matches(&token.replace("pc_at_", "pc_at_!")[..49]));
        assert!(!TokenKind::AccessToken.matches(""));
    }

    #[test]
    fn hex_round_trips() {
        let hash = TokenHash::of("x");
        let hex = hash.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(TokenHash::from_hex(&hex), Some(hash));
        assert_eq!(TokenHash::from_hex(&hex.to_uppercase()), Some(hash));
        assert_eq!(TokenHash::from_hex(&hex[1..]), None);
        assert_eq!(TokenHash::from_hex(&format!("+{}", &hex[1..])), None);
        assert_eq!(TokenHash::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn debug_is_redacted() {
        let t = AccessToken::new("pc_at_secret");
        assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
        let shown = format!("{:?}", TokenHash::of("x"));
        assert_eq!(
            shown.chars().count(),
            "TokenHash(01234567…)".chars().count()
        );
    }
}
