//! The two codes of the device authorization grant (RFC 8628 §3.2).
//!
//! - The **device code** is for the device only: a 256-bit opaque token like
//!   every other (`pc_dc_…`, minted by [`TokenKind::DeviceCode`]), since
//!   nobody types it (§5.2: "a very high entropy code SHOULD be used").
//! - The **user code** is typed by a person, often on a phone, so it trades
//!   entropy for usability (§6.1): 8 characters from the 20 consonants
//!   [`USER_CODE_ALPHABET`] — no digits, no vowels (so no words), no
//!   look-alikes — shown as `XXXX-XXXX`. That is 20⁸ ≈ 2^34.6 codes, too few
//!   to resist guessing on their own: the server throttles failed lookups and
//!   codes live only minutes (§5.1; the trade-off is discussed on
//!   [`AuthorizationServer::pending_device_authorization`](crate::AuthorizationServer::pending_device_authorization)).
//!
//! Input is normalised the way §6.1 recommends: case does not matter, and
//! dashes and white space are dropped; anything else outside the alphabet
//! makes the input match no code.
//!
//! [`TokenKind::DeviceCode`]: super::TokenKind::DeviceCode

use std::fmt;

use rand::Rng as _;

use super::TokenHash;
use crate::secret::secret_type;

/// The characters of a user code: the 20 consonants of A–Z without `Y`
/// (RFC 8628 §6.1). Case-insensitive on input.
pub const USER_CODE_ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";

/// The significant characters in a user code: 8, for 20⁸ ≈ 2^34.6 codes.
pub const USER_CODE_LEN: usize = 8;

/// The longest input [`UserCode::parse`] looks at; anything longer is no
/// user code, however it is padded.
const MAX_INPUT_LEN: usize = 64;

secret_type! {
    /// A device code (RFC 8628 §3.2) as issued to the device. 256 bits; the
    /// server keeps only its hash.
    DeviceCode
}

/// A user code (RFC 8628 §3.2, §6.1), e.g. `WDJB-MJHT`.
///
/// It is a short-lived secret — whoever enters it first decides which account
/// the device is bound to — so `Debug` is redacted, there is no `Display`,
/// and the server keeps only its hash.
pub struct UserCode {
    /// `XXXX-XXXX`, upper case.
    display: String,
}

impl UserCode {
    /// A fresh, uniformly random code from the thread-local CSPRNG.
    pub(crate) fn generate() -> Self {
        let alphabet = USER_CODE_ALPHABET.as_bytes();
        let mut rng = rand::rng();
        let mut significant = [0u8; USER_CODE_LEN];
        for c in &mut significant {
            // `random_range` is unbiased; the fallback never runs.
            *c = alphabet
                .get(rng.random_range(0..alphabet.len()))
                .copied()
                .unwrap_or(b'B');
        }
        Self::from_significant(&significant)
    }

    /// Normalises what a user typed (RFC 8628 §6.1): letters are upper-cased,
    /// dashes and white space dropped. `None` if anything else is outside
    /// [`USER_CODE_ALPHABET`], or there are not exactly [`USER_CODE_LEN`]
    /// letters.
    ///
    /// ```
    /// use portcullis::token::UserCode;
    /// let code = UserCode::parse(" wdjb mjht ").unwrap();
    /// assert_eq!(code.expose_secret(), "WDJB-MJHT");
    /// assert!(UserCode::parse("WDJB-MJH0").is_none());
    /// ```
    pub fn parse(input: &str) -> Option<Self> {
        if input.len() > MAX_INPUT_LEN {
            return None;
        }
        let mut significant = [0u8; USER_CODE_LEN];
        let mut n = 0;
        for c in input.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let c = u8::try_from(c.to_ascii_uppercase()).ok()?;
            if !USER_CODE_ALPHABET.as_bytes().contains(&c) {
                return None;
            }
            *significant.get_mut(n)? = c;
            n += 1;
        }
        (n == USER_CODE_LEN).then(|| Self::from_significant(&significant))
    }

    fn from_significant(significant: &[u8; USER_CODE_LEN]) -> Self {
        let (first, second) = significant.split_at(USER_CODE_LEN / 2);
        let mut display = String::with_capacity(USER_CODE_LEN + 1);
        display.extend(first.iter().map(|b| char::from(*b)));
        display.push('-');
        display.extend(second.iter().map(|b| char::from(*b)));
        Self { display }
    }

    /// The code as shown to the user: `XXXX-XXXX`.
    pub fn expose_secret(&self) -> &str {
        &self.display
    }

    /// The SHA-256 of the significant characters: what the store keeps, and
    /// the same for every spelling [`parse`](Self::parse) accepts.
    pub(crate) fn hash(&self) -> TokenHash {
        let significant: String = self.display.chars().filter(|c| *c != '-').collect();
        TokenHash::of(&significant)
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserCode([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_have_the_shape_and_parse_back() {
        for _ in 0..1000 {
            let code = UserCode::generate();
            let shown = code.expose_secret();
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert!(
                shown
                    .chars()
                    .filter(|c| *c != '-')
                    .all(|c| USER_CODE_ALPHABET.contains(c))
            );
            let back = UserCode::parse(shown).unwrap();
            assert_eq!(back.expose_secret(), shown);
            assert_eq!(back.hash(), code.hash());
        }
    }

    #[test]
    fn generation_uses_the_whole_alphabet() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(UserCode::generate().expose_secret().chars());
        }
        seen.remove(&'-');
        assert_eq!(seen.len(), USER_CODE_ALPHABET.len());
    }

    #[test]
    fn normalisation() {
        let canonical = UserCode::parse("WDJB-MJHT").unwrap().hash();
        for spelling in [
            "wdjb-mjht",
            "WDJBMJHT",
            "wdjbmjht",
            " WDJB MJHT ",
            "W-D-J-B-M-J-H-T",
            "wDjB\tmJhT\n",
        ] {
            let code = UserCode::parse(spelling).unwrap();
            assert_eq!(code.expose_secret(), "WDJB-MJHT", "{spelling:?}");
            assert_eq!(code.hash(), canonical);
        }
    }

    #[test]
    fn anything_else_is_no_code() {
        for input in [
            "",
            "WDJB-MJH",   // too short
            "WDJB-MJHTB", // too long
            "WDJB-MJHA",  // a vowel
            "WDJB-MJH0",  // a digit
            "WDJB_MJHT",  // other punctuation
            "WDJB-MJHÉ",  // not ASCII
            "ẞDJB-MJHT",  // not ASCII either
            "WDJB-MJHY",  // Y is not in the alphabet
            &format!("{}WDJBMJHT", " ".repeat(100)),
        ] {
            assert!(UserCode::parse(input).is_none(), "{input:?}");
        }
    }

    #[test]
    fn the_hash_ignores_the_dash() {
        // The dash is not part of what is hashed, so every spelling agrees.
        let code = UserCode::parse("BCDF-GHJK").unwrap();
        assert_eq!(code.hash(), TokenHash::of("BCDFGHJK"));
    }

    #[test]
    fn debug_is_redacted() {
        let code = UserCode::parse("WDJB-MJHT").unwrap();
        assert_eq!(format!("{code:?}"), "UserCode([redacted])");
        assert_eq!(
            format!("{:?}", DeviceCode::new("pc_dc_x")),
            "DeviceCode([redacted])"
        );
    }
}
