//! Unpadded base64url (RFC 4648 §5) of a 256-bit value — a token's random
//! body, a PKCE S256 digest (RFC 7636 §4.2) — and the character class that
//! tokens and challenges are checked against.
//!
//! The general-purpose `base64` engine handles any length and configuration;
//! these values are always 32 bytes, and encoding them with a fixed layout
//! costs about half as much.

/// The base64url alphabet (RFC 4648 §5, Table 2).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The length of 32 bytes in unpadded base64url.
pub(crate) const ENCODED_32_LEN: usize = 43;

/// One character of the alphabet; `index` is masked to six bits.
fn symbol(index: u32) -> u8 {
    // The mask keeps the index in range; the fallback never runs.
    usize::try_from(index & 0x3f)
        .ok()
        .and_then(|i| ALPHABET.get(i))
        .copied()
        .unwrap_or(b'A')
}

/// Unpadded base64url of 32 bytes: 43 characters.
pub(crate) fn encode_32(bytes: &[u8; 32]) -> [u8; ENCODED_32_LEN] {
    let mut out = [0u8; ENCODED_32_LEN];
    // Ten 3-byte groups make 40 characters; the last two bytes make three.
    for (group, quad) in bytes.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
        if let ([a, b, c], [w, x, y, z]) = (group, quad) {
            let n = u32::from(*a) << 16 | u32::from(*b) << 8 | u32::from(*c);
            *w = symbol(n >> 18);
            *x = symbol(n >> 12);
            *y = symbol(n >> 6);
            *z = symbol(n);
        }
    }
    let ([.., a, b], [.., x, y, z]) = (bytes, &mut out);
    let n = u32::from(*a) << 16 | u32::from(*b) << 8;
    *x = symbol(n >> 18);
    *y = symbol(n >> 12);
    *z = symbol(n >> 6);
    out
}

/// Whether `b` is in the base64url alphabet (RFC 4648 §5):
/// `ALPHA / DIGIT / "-" / "_"`. Branch-free, so a check over a whole token
/// compiles to a few vector operations.
#[inline]
fn is_base64url_char(b: u8) -> bool {
    // `b | 0x20` folds ASCII upper case onto lower case (and nothing else
    // onto a–z).
    ((b | 0x20).wrapping_sub(b'a') < 26) | (b.wrapping_sub(b'0') < 10) | (b == b'-') | (b == b'_')
}

/// Whether every byte of `s` is in the base64url alphabet, without an early
/// exit.
pub(crate) fn is_base64url(s: &[u8]) -> bool {
    s.iter().fold(true, |ok, b| ok & is_base64url_char(*b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    #[test]
    fn rfc7636_appendix_b_digest() {
        use sha2::{Digest as _, Sha256};
        let digest: [u8; 32] =
            Sha256::digest(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").into();
        assert_eq!(
            &encode_32(&digest),
            b"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn alphabet_class() {
        assert!(is_base64url(ALPHABET));
        for b in 0..=255u8 {
            assert_eq!(
                is_base64url(&[b]),
                b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
            );
        }
        assert!(is_base64url(b""));
    }

    proptest! {
        #[test]
        fn matches_the_base64_engine(bytes in any::<[u8; 32]>()) {
            let (ours, theirs) = (encode_32(&bytes), URL_SAFE_NO_PAD.encode(bytes));
            prop_assert_eq!(&ours[..], theirs.as_bytes());
        }
    }
}
