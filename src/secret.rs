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
