//! The store conformance suite: every contract of [`TokenStore`] and
//! [`ClientRegistry`], checked against any implementation with one call.
//!
//! The server's security rests on its store: a code redeemed twice, a refresh
//! token rotated twice or a revoked grant whose tokens still work is a hole,
//! however correct the protocol code above it. Each method's documentation
//! states its contract; this suite turns each contract into a case a store
//! must pass, including the races — 32 tasks redeeming one code, rotating one
//! refresh token, taking one pending request, redeeming or deciding one device
//! authorization — run on real worker threads.
//!
//! Enable the `testing` feature in the store's dev-dependencies and call
//! [`run_store_conformance`] from a multi-threaded Tokio test. The closure
//! makes a fresh, empty store for each case (for a SQL store: a new database
//! or schema). A failure panics naming each failed case and the contract it
//! broke; [`cases`] has one function per contract, to run one alone while
//! debugging.
//!
//! ```
//! use portcullis::store::MemoryStore;
//! use portcullis::testing::run_store_conformance;
//!
//! // In a store's tests: #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 4)]
//! async fn main() {
//!     run_store_conformance(|| async { MemoryStore::new() }).await;
//!
//!     // One case alone, while debugging.
//!     portcullis::testing::cases::redeem_code_once(MemoryStore::new()).await;
//! }
//! ```
//!
//! What a store must also keep, beyond the method contracts:
//!
//! - Times round-trip to at least the second: the suite's times are whole
//!   seconds, and records must come back equal to what was stored.
//! - A store does not fail under contention. A serialisation failure or a
//!   busy database is retried inside the store; the server would answer a
//!   [`StoreError`](crate::store::StoreError) with `server_error`.
//! - Grants refer only to registered clients, and tokens only to stored
//!   grants, so a store may keep foreign keys.
//! - `redeem_code` and `rotate_refresh_token` reach the decisions of
//!   [`CodeRedemption::decide`](crate::store::CodeRedemption::decide) and
//!   [`RefreshRotation::decide`](crate::store::RefreshRotation::decide),
//!   check by check: a store that states their conditions in SQL instead of
//!   calling them is held to the same answers, refusals included, by the
//!   cases on codes and refresh tokens.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod cases;
mod fixtures;

use std::any::Any;
use std::future::Future;

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::client::ClientRegistry;
use crate::store::TokenStore;

/// Runs every case of the suite, each against a fresh store from
/// `make_store`, and panics listing the cases that failed.
///
/// Must be called from within a multi-threaded Tokio runtime
/// (`#[tokio::test(flavor = "multi_thread")]`): the concurrency cases spawn
/// tasks that run in parallel on its workers.
///
/// # Panics
///
/// When a case fails, naming it and the contract it broke; or when not
/// called from within a multi-threaded Tokio runtime.
pub async fn run_store_conformance<S, F, Fut>(make_store: F)
where
    S: TokenStore + ClientRegistry + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    require_multi_thread_runtime();
    let mut failures = Vec::new();
    let mut total = 0;
    macro_rules! run {
        ($($case:ident),* $(,)?) => {
            $(
                total += 1;
                let store = make_store().await;
                if let Err(message) = run_case(cases::$case(store)).await {
                    failures.push(format!("{}: {message}", stringify!($case)));
                }
            )*
        };
    }
    run!(
        // ClientRegistry
        client_insert_and_find,
        client_insert_conflict_keeps_the_stored_client,
        client_update_compares_and_swaps,
        client_delete_compares_and_swaps,
        concurrent_client_updates_swap_once,
        // Grants and lookups
        create_grant_with_access_token,
        create_grant_with_refresh_token,
        create_grant_with_code,
        unknown_hashes_are_not_found,
        create_grant_is_visible_at_once,
        // Revocation
        revoke_grant_kills_everything_of_the_grant,
        revoke_access_token_revokes_only_that_token,
        revoke_client_grants_spares_other_clients,
        a_grant_of_one_access_token_is_revoked_like_any,
        // Refresh tokens
        rotate_refresh_token_then_reuse,
        rotate_unknown_or_revoked_refresh_token,
        rotate_refresh_token_refuses_another_client,
        rotate_refresh_token_refuses_an_expired_token_or_grant,
        rotate_refresh_token_narrows_scope_but_never_widens,
        concurrent_rotations_rotate_once,
        a_rotation_losing_a_race_revokes_the_grant,
        revoke_grant_racing_rotation_leaves_nothing,
        // Authorization codes
        redeem_code_once,
        redeem_unknown_or_revoked_code,
        redeem_code_refuses_another_client,
        redeem_code_checks_the_redirect_uri,
        redeem_code_checks_pkce,
        redeem_code_refuses_an_expired_code,
        refused_replays_do_not_revoke,
        concurrent_code_redemptions_redeem_once,
        a_redemption_losing_a_race_revokes_the_grant,
        // Pending authorization requests
        pending_save_find_take,
        concurrent_takes_of_a_pending_request_take_once,
        // Device authorizations
        device_save_and_find,
        device_save_conflicts_on_live_codes,
        device_decide_once,
        device_poll_records_slow_down,
        concurrent_device_polls_are_serialised,
        device_poll_collects_once,
        concurrent_device_decisions_decide_once,
        concurrent_device_polls_collect_once,
        // Expiry
        purge_expired_removes_only_the_dead,
    );
    if !failures.is_empty() {
        panic!(
            "store conformance: {} of {total} cases failed:\n  - {}",
            failures.len(),
            failures.join("\n  - ")
        );
    }
}

/// Runs one case as a task of its own, so its panic is caught and reported
/// with its name while the other cases still run.
async fn run_case<C>(case: C) -> Result<(), String>
where
    C: Future<Output = ()> + Send + 'static,
{
    match tokio::spawn(case).await {
        Ok(()) => Ok(()),
        Err(error) => match error.try_into_panic() {
            Ok(payload) => Err(panic_message(payload.as_ref())),
            Err(error) => Err(format!("the case did not finish: {error}")),
        },
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".to_owned())
}

fn require_multi_thread_runtime() {
    let flavor = Handle::try_current().map(|handle| handle.runtime_flavor());
    assert!(
        matches!(flavor, Ok(f) if f != RuntimeFlavor::CurrentThread),
        "the store conformance suite must run within a multi-threaded Tokio runtime: \
         #[tokio::test(flavor = \"multi_thread\")]"
    );
}
