//! Secret-bearing newtypes (RFC 6819 §4.6.7: secrets never reach logs).
//!
//! A secret type prints as `Name([redacted])` in `Debug`, has no `Display`, no
//! derived `PartialEq` and no `Serialize`: the plaintext leaves only through an
//! explicit [`expose_secret`](crate::token::AccessToken::expose_secret) call.

/// Defines a secret newtype around a `String`.
macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The plaintext. Call it only to put the value on the wire.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

pub(crate) use secret_type;

/// Whether two SHA-256 digests are equal, in constant time: `subtle`'s
/// comparison of their four 64-bit words, each a constant-time
/// [`ConstantTimeEq`](subtle::ConstantTimeEq) combined into one `Choice`.
/// The same guarantee as comparing the 32 bytes one by one, for an eighth of
/// the work: a digest comparison is on every token and secret check.
pub(crate) fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq as _;
    let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
    let mut equal = subtle::Choice::from(1);
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        equal &= word(x).ct_eq(&word(y));
    }
    bool::from(equal)
}

#[cfg(test)]
mod tests {
    use super::digests_equal;

    #[test]
    fn digests_differing_in_any_bit_are_unequal() {
        let a = [0x5au8; 32];
        assert!(digests_equal(&a, &a));
        for i in 0..32 {
            for bit in 0..8 {
                let mut b = a;
                if let Some(byte) = b.get_mut(i) {
                    *byte ^= 1 << bit;
                }
                assert!(!digests_equal(&a, &b), "byte {i} bit {bit}");
            }
        }
    }
}
