//! The store conformance suite: every contract of the storage traits —
//! [`ClientRegistry`], [`GrantStore`], [`AuthorizationCodeStore`] and
//! [`DeviceAuthorizationStore`] — checked against any implementation, one
//! runner per trait.
//!
//! The server's security rests on its store: a code redeemed twice, a refresh
//! token rotated twice or a revoked grant whose tokens still work is a hole,
//! however correct the protocol code above it. Each method's documentation
//! states its contract; this suite turns each contract into a case a store
//! must pass, including the races — 32 tasks redeeming one code, rotating one
//! refresh token, taking one pending request, redeeming or deciding one device
//! authorization — run on real worker threads.
//!
//! Enable the `testing` feature in the store's dev-dependencies and call, from
//! a multi-threaded Tokio test, the runner of each trait the store
//! implements — and only those, so a host serving fewer grants runs only its
//! part:
//!
//! | Runner | Store bound |
//! |---|---|
//! | [`run_client_registry_conformance`] | [`ClientRegistry`] |
//! | [`run_grant_store_conformance`] | [`GrantStore`] |
//! | [`run_code_store_conformance`] | [`AuthorizationCodeStore`] |
//! | [`run_device_store_conformance`] | [`DeviceAuthorizationStore`] |
//! | [`run_store_conformance`], all four at once | [`TokenStore`] + [`ClientRegistry`] |
//! | [`run_limiter_conformance`] | [`AuthLimiter`](crate::client::AuthLimiter) |
//! | [`run_replay_cache_conformance`] | [`ReplayCache`] |
//!
//! The closure makes a fresh, empty store for each case (for a SQL store: a
//! new database or schema). A failure panics naming each failed case and the
//! contract it broke; [`cases`] has one function per contract, to run one
//! alone while debugging.
//!
//! ```
//! use portcullis::store::MemoryStore;
//! use portcullis::testing::{run_grant_store_conformance, run_store_conformance};
//!
//! // In a store's tests: #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 4)]
//! async fn main() {
//!     // A store of every kind: the whole suite.
//!     run_store_conformance(|| async { MemoryStore::new() }).await;
//!
//!     // A store of grants and tokens only (client credentials, say).
//!     run_grant_store_conformance(|| async { MemoryStore::new() }).await;
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
//! - A grant, code or device store does not need a client registry: the
//!   cases' grants, codes, pending requests and device authorizations name
//!   clients that were never registered (a host may keep its clients
//!   elsewhere), so a store must not require the clients they name to exist
//!   — no foreign key from grants to a clients table. Tokens and codes refer
//!   only to stored grants, so a store may keep foreign keys there.
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
mod limiter;

pub use limiter::run_limiter_conformance;

use std::any::Any;
use std::future::Future;

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::client::ClientRegistry;
use crate::store::{
    AuthorizationCodeStore, DeviceAuthorizationStore, GrantStore, ReplayCache, TokenStore,
};

/// Runs every case of the [`ClientRegistry`] contracts, each against a fresh
/// store from `make_store`, and panics listing the cases that failed.
///
/// Must be called from within a multi-threaded Tokio runtime
/// (`#[tokio::test(flavor = "multi_thread")]`): the concurrency cases spawn
/// tasks that run in parallel on its workers.
///
/// # Panics
///
/// When a case fails, naming it and the contract it broke; or when not
/// called from within a multi-threaded Tokio runtime.
pub async fn run_client_registry_conformance<S, F, Fut>(make_store: F)
where
    S: ClientRegistry + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let mut report = Report::start();
    client_registry_cases(&make_store, &mut report).await;
    report.finish();
}

/// Runs every case of the [`GrantStore`] contracts — grants, access and
/// refresh tokens, rotation, revocation, purging — each against a fresh
/// store from `make_store`, and panics listing the cases that failed.
///
/// The cases' grants name clients that were never registered: a grant store
/// must not require the client a grant names to exist in any registry.
///
/// Must be called from within a multi-threaded Tokio runtime
/// (`#[tokio::test(flavor = "multi_thread")]`): the concurrency cases spawn
/// tasks that run in parallel on its workers.
///
/// # Panics
///
/// When a case fails, naming it and the contract it broke; or when not
/// called from within a multi-threaded Tokio runtime.
pub async fn run_grant_store_conformance<S, F, Fut>(make_store: F)
where
    S: GrantStore + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let mut report = Report::start();
    grant_store_cases(&make_store, &mut report).await;
    report.finish();
}

/// Runs every case of the [`AuthorizationCodeStore`] contracts — codes made
/// with their grants, redemption and replays, pending requests, revocation
/// and purging of both — each against a fresh store from `make_store`, and
/// panics listing the cases that failed. The store's [`GrantStore`] part has
/// its own runner, [`run_grant_store_conformance`]; run both.
///
/// The cases' grants and pending requests name clients that were never
/// registered: a code store must not require the client they name to exist
/// in any registry.
///
/// Must be called from within a multi-threaded Tokio runtime
/// (`#[tokio::test(flavor = "multi_thread")]`): the concurrency cases spawn
/// tasks that run in parallel on its workers.
///
/// # Panics
///
/// When a case fails, naming it and the contract it broke; or when not
/// called from within a multi-threaded Tokio runtime.
pub async fn run_code_store_conformance<S, F, Fut>(make_store: F)
where
    S: AuthorizationCodeStore + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let mut report = Report::start();
    code_store_cases(&make_store, &mut report).await;
    report.finish();
}

/// Runs every case of the [`DeviceAuthorizationStore`] contracts (RFC 8628) —
/// unique live codes, one decision, polls recorded and serialised, one
/// collection, revocation and purging — each against a fresh store from
/// `make_store`, and panics listing the cases that failed. The store's
/// [`GrantStore`] part has its own runner, [`run_grant_store_conformance`];
/// run both.
///
/// The cases' device authorizations name clients that were never registered:
/// a device store must not require the client they name to exist in any
/// registry.
///
/// Must be called from within a multi-threaded Tokio runtime
/// (`#[tokio::test(flavor = "multi_thread")]`): the concurrency cases spawn
/// tasks that run in parallel on its workers.
///
/// # Panics
///
/// When a case fails, naming it and the contract it broke; or when not
/// called from within a multi-threaded Tokio runtime.
pub async fn run_device_store_conformance<S, F, Fut>(make_store: F)
where
    S: DeviceAuthorizationStore + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let mut report = Report::start();
    device_store_cases(&make_store, &mut report).await;
    report.finish();
}

/// Runs the whole suite — the cases of [`run_client_registry_conformance`],
/// [`run_grant_store_conformance`], [`run_code_store_conformance`] and
/// [`run_device_store_conformance`] — each case against a fresh store from
/// `make_store`, and panics once, listing every case that failed. For a store
/// that is all four, as [`MemoryStore`](crate::store::MemoryStore) is.
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
    let mut report = Report::start();
    client_registry_cases(&make_store, &mut report).await;
    grant_store_cases(&make_store, &mut report).await;
    code_store_cases(&make_store, &mut report).await;
    device_store_cases(&make_store, &mut report).await;
    report.finish();
}

/// Runs every case of the [`ReplayCache`] contract — a key used once, a
/// single winner among concurrent first uses on two replicas, independent
/// keys and purposes, expiry, purging — and panics listing the cases that
/// failed (RFC 7523 §3 item 7: a `jti` must not be accepted twice).
///
/// `make_replicas` makes two caches on one fresh storage, as two replicas
/// of a server would open it: two stores on one new database; for an
/// in-process cache, two clones of one.
///
/// ```
/// use portcullis::store::MemoryStore;
/// use portcullis::testing::run_replay_cache_conformance;
///
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 4)]
/// async fn main() {
///     run_replay_cache_conformance(|| async {
///         let store = MemoryStore::new();
///         (store.clone(), store)
///     })
///     .await;
/// }
/// ```
///
/// # Panics
///
/// When a case fails, naming it; or when not called from within a
/// multi-threaded Tokio runtime.
pub async fn run_replay_cache_conformance<S, F, Fut>(make_replicas: F)
where
    S: ReplayCache + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = (S, S)>,
{
    let mut report = Report::start();
    macro_rules! run {
        ($($case:ident),* $(,)?) => {$(
            let replicas = make_replicas().await;
            report.record(stringify!($case), run_case(cases::$case(replicas)).await);
        )*};
    }
    run!(
        a_key_is_used_once,
        concurrent_first_uses_record_one,
        replay_keys_are_independent,
        an_expired_record_frees_its_key,
        purge_expired_replays_removes_only_the_dead,
    );
    report.finish();
}

/// Runs each case named against a fresh store from `$make_store`, recording
/// it in `$report`.
macro_rules! run {
    ($make_store:ident, $report:ident: $($case:ident),* $(,)?) => {
        $(
            let store = $make_store().await;
            $report.record(stringify!($case), run_case(cases::$case(store)).await);
        )*
    };
}

async fn client_registry_cases<S, F, Fut>(make_store: &F, report: &mut Report)
where
    S: ClientRegistry + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    run!(make_store, report:
        client_insert_and_find,
        client_mutual_tls_metadata_round_trips,
        client_insert_conflict_keeps_the_stored_client,
        client_update_compares_and_swaps,
        client_delete_compares_and_swaps,
        concurrent_client_updates_swap_once,
        client_quota_counts_clients_per_registrant,
        concurrent_quota_inserts_never_exceed_the_quota,
    );
}

async fn grant_store_cases<S, F, Fut>(make_store: &F, report: &mut Report)
where
    S: GrantStore + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    run!(make_store, report:
        // Grants and lookups
        create_grant_with_access_token,
        create_grant_with_refresh_token,
        unknown_hashes_are_not_found,
        create_grant_is_visible_at_once,
        // Revocation
        revoke_grant_kills_everything_of_the_grant,
        revoke_access_token_revokes_only_that_token,
        revoke_client_grants_spares_other_clients,
        a_grant_of_one_access_token_is_revoked_like_any,
        // Token exchange (RFC 8693)
        add_access_token_joins_the_grant,
        find_grant_finds_live_grants_only,
        // Rich authorization requests (RFC 9396)
        a_grant_keeps_its_authorization_details,
        a_rotated_token_carries_the_planned_authorization_details,
        // Refresh tokens
        rotate_refresh_token_then_reuse,
        rotate_unknown_or_revoked_refresh_token,
        rotate_refresh_token_refuses_another_client,
        rotate_refresh_token_refuses_an_expired_token_or_grant,
        rotate_refresh_token_narrows_scope_but_never_widens,
        // Sender-constrained tokens (RFC 9449)
        bound_tokens_keep_their_binding,
        rotate_refresh_token_checks_the_binding,
        concurrent_rotations_rotate_once,
        a_rotation_losing_a_race_revokes_the_grant,
        revoke_grant_racing_rotation_leaves_nothing,
        // Expiry
        purge_expired_removes_only_the_dead,
    );
}

async fn code_store_cases<S, F, Fut>(make_store: &F, report: &mut Report)
where
    S: AuthorizationCodeStore + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    run!(make_store, report:
        // Codes and lookups
        create_grant_with_code,
        unknown_codes_are_not_found,
        // Revocation
        revoke_grant_kills_the_codes_of_the_grant,
        revoke_access_token_leaves_codes,
        revoke_client_grants_kills_the_clients_codes,
        revoke_client_pending_spares_other_clients,
        // Redemption
        redeem_code_once,
        redeem_code_narrows_the_access_token_to_its_audience,
        an_openid_grant_keeps_its_record,
        a_code_grant_keeps_its_authorization_details,
        a_redeemed_token_carries_the_planned_authorization_details,
        redeem_unknown_or_revoked_code,
        redeem_code_refuses_another_client,
        redeem_code_checks_the_redirect_uri,
        redeem_code_checks_pkce,
        redeem_code_refuses_an_expired_code,
        refused_replays_do_not_revoke,
        redeem_code_keeps_the_planned_bindings,
        redeem_code_checks_its_dpop_jkt,
        concurrent_code_redemptions_redeem_once,
        a_redemption_losing_a_race_revokes_the_grant,
        // Pending authorization requests
        pending_save_find_take,
        concurrent_takes_of_a_pending_request_take_once,
        // Pushed authorization requests (RFC 9126)
        pushed_take_once_by_its_client,
        pushed_requests_expire_and_go_with_their_client,
        concurrent_takes_of_a_pushed_request_take_once,
        // Expiry
        purge_expired_codes_removes_only_the_dead,
    );
}

async fn device_store_cases<S, F, Fut>(make_store: &F, report: &mut Report)
where
    S: DeviceAuthorizationStore + Clone,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    run!(make_store, report:
        device_save_and_find,
        unknown_device_codes_are_not_found,
        device_save_conflicts_on_live_codes,
        device_decide_once,
        device_poll_records_slow_down,
        concurrent_device_polls_are_serialised,
        device_poll_collects_once,
        device_collection_keeps_the_planned_bindings,
        concurrent_device_decisions_decide_once,
        concurrent_device_polls_collect_once,
        revoke_client_device_authorizations_spares_other_clients,
        // Expiry
        purge_expired_device_authorizations_removes_only_the_dead,
    );
}

/// The cases run so far and those that failed, for one panic at the end.
struct Report {
    total: usize,
    failures: Vec<String>,
}

impl Report {
    /// Checks the runtime, before any case runs.
    fn start() -> Self {
        require_multi_thread_runtime();
        Self {
            total: 0,
            failures: Vec::new(),
        }
    }

    fn record(&mut self, case: &str, outcome: Result<(), String>) {
        self.total += 1;
        if let Err(message) = outcome {
            self.failures.push(format!("{case}: {message}"));
        }
    }

    /// Panics listing the failed cases, if any.
    fn finish(self) {
        if !self.failures.is_empty() {
            panic!(
                "store conformance: {} of {} cases failed:\n  - {}",
                self.failures.len(),
                self.total,
                self.failures.join("\n  - ")
            );
        }
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
