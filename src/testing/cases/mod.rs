//! The cases of the suite, one per contract.
//!
//! Each takes a fresh, empty store, exercises one contract of
//! [`ClientRegistry`](crate::client::ClientRegistry),
//! [`GrantStore`](crate::store::GrantStore),
//! [`AuthorizationCodeStore`](crate::store::AuthorizationCodeStore) or
//! [`DeviceAuthorizationStore`](crate::store::DeviceAuthorizationStore) —
//! its bound is the least trait it needs — and panics with a message naming
//! the operation and the contract broken. The concurrency cases spawn tasks,
//! so call them from within a multi-threaded Tokio runtime, as the runners
//! ([`run_store_conformance`](super::run_store_conformance) and the others)
//! are.

mod clients;
mod codes;
mod concurrency;
mod confirmation;
mod details;
mod device;
mod exchange;
mod grants;
mod limiter;
mod pending;
mod purge;
mod pushed;
mod refresh;
mod replay;
mod revoke;

pub use clients::*;
pub use codes::*;
pub use concurrency::*;
pub use confirmation::*;
pub use details::*;
pub use device::*;
pub use exchange::*;
pub use grants::*;
pub use limiter::*;
pub use pending::*;
pub use purge::*;
pub use pushed::*;
pub use refresh::*;
pub use replay::*;
pub use revoke::*;
