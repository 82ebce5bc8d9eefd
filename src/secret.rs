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

/// Whether two SHA-256 digests are equal, in time independent of where they
/// differ: the words' differences are OR-ed together with no early exit, and
/// only the total is compared, constant-time (`subtle`). A quarter of the
/// work of comparing byte by byte, each byte behind its own optimisation
/// barrier.
pub(crate) fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq as _;
    let mut difference = 0u64;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let (mut wx, mut wy) = ([0u8; 8], [0u8; 8]);
        wx.copy_from_slice(x);
        wy.copy_from_slice(y);
        difference |= u64::from_ne_bytes(wx) ^ u64::from_ne_bytes(wy);
    }
    difference.ct_eq(&0).into()
}

#[cfg(test)]
mod tests {
    use super::digests_equal;

    #[test]
    fn digests_differing_in_any_byte_are_unequal() {
        let a = [7u8; 32];
        assert!(digests_equal(&a, &a));
        for i in 0..32 {
            for bit in 0..8 {
                let mut b = a;
                b[i] ^= 1 << bit;
                assert!(!digests_equal(&a, &b), "byte {i} bit {bit}");
            }
        }
    }
}
