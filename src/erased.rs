//! Type erasure for the host's async traits, written once.
//!
//! The traits a host implements ([`GrantStore`](crate::store::GrantStore)
//! and the other stores, [`ClientRegistry`](crate::client::ClientRegistry),
//! [`AuthLimiter`](crate::client::AuthLimiter),
//! [`GrantHandler`](crate::grant::GrantHandler)) return `impl Future`, so an
//! implementation writes plain `async fn`s — and so they cannot be trait
//! objects. The server holds each behind an object-safe twin that
//! [`erased_twin!`] declares: the same methods, each returning a
//! [`BoxFuture`], and a blanket implementation for every implementor of the
//! trait that boxes the trait method's future. Every store — the bundled
//! ones and a host's own — is held and called the same way, through one
//! boxed future per call.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what an erased call returns.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Declares `$dyn`, the object-safe twin of the async trait `$trait`, and
/// implements it for every `T: $trait` by boxing the future of the trait
/// method of the same name. Arguments borrow for `$lt`, the lifetime of the
/// call. Methods marked `sync` are the trait's plain (non-async) ones,
/// forwarded as they are. Also checks at compile time that the twin stays
/// object-safe.
macro_rules! erased_twin {
    (
        $(#[$meta:meta])*
        $dyn:ident: $trait:ident <$lt:lifetime> {
            $( fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $out:ty; )*
            $( sync fn $sname:ident($($sarg:ident: $sty:ty),* $(,)?) -> $sout:ty; )*
        }
    ) => {
        $(#[$meta])*
        pub(crate) trait $dyn: Send + Sync + 'static {
            $(
                fn $name<$lt>(&$lt self $(, $arg: $ty)*)
                    -> $crate::erased::BoxFuture<$lt, $out>;
            )*
            $(
                fn $sname(&self $(, $sarg: $sty)*) -> $sout;
            )*
        }

        impl<T: $trait> $dyn for T {
            $(
                fn $name<$lt>(&$lt self $(, $arg: $ty)*)
                    -> $crate::erased::BoxFuture<$lt, $out>
                {
                    Box::pin(<T as $trait>::$name(self $(, $arg)*))
                }
            )*
            $(
                fn $sname(&self $(, $sarg: $sty)*) -> $sout {
                    <T as $trait>::$sname(self $(, $sarg)*)
                }
            )*
        }

        const _: fn(&dyn $dyn) = |_| {};
    };
}

pub(crate) use erased_twin;
