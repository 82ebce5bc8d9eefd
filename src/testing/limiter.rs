//! The limiter part of the suite: [`run_limiter_conformance`].

use std::future::Future;

use super::{Report, cases, run_case};
use crate::client::{AuthLimiter, ThrottlePolicy};

/// Runs every case of the [`AuthLimiter`] contracts — atomic admission of
/// a thousand concurrent attempts at one key, refusals not counted,
/// successes taken back one at a time and concurrently, independent keys,
/// a fresh start after a quiet period, replicas sharing counts — and panics
/// listing the cases that failed (RFC 6749 §2.3.1: the protection against
/// brute force must hold under any concurrency).
///
/// `make_replicas` makes two limiters with the policy it is given on one
/// fresh storage, as two replicas of a server would open it: for a limiter
/// on a database, two limiters on two pools opened on one new database; for
/// an in-process limiter, two clones of one. Each case gets a fresh pair.
///
/// ```
/// use portcullis::client::MemoryLimiter;
/// use portcullis::testing::run_limiter_conformance;
///
/// // In a limiter's tests: #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 4)]
/// async fn main() {
///     run_limiter_conformance(|policy| async move {
///         let limiter = MemoryLimiter::new(policy);
///         (limiter.clone(), limiter)
///     })
///     .await;
/// }
/// ```
///
/// Must be called from within a multi-threaded Tokio runtime
/// (`#[tokio::test(flavor = "multi_thread")]`): the concurrency cases spawn
/// tasks that run in parallel on its workers.
///
/// # Panics
///
/// When a case fails, naming it and the contract it broke; or when not
/// called from within a multi-threaded Tokio runtime.
pub async fn run_limiter_conformance<S, F, Fut>(make_replicas: F)
where
    S: AuthLimiter + Clone,
    F: Fn(ThrottlePolicy) -> Fut,
    Fut: Future<Output = (S, S)>,
{
    let mut report = Report::start();
    macro_rules! run {
        ($($case:ident),* $(,)?) => {$(
            let replicas = make_replicas(cases::limiter_policy()).await;
            report.record(stringify!($case), run_case(cases::$case(replicas)).await);
        )*};
    }
    run!(
        concurrent_admissions_admit_the_allowance_and_one,
        refused_attempts_are_not_counted,
        waits_double_up_to_the_ceiling,
        a_success_uncounts_its_own_attempt_only,
        a_key_whose_attempts_all_succeed_is_never_refused,
        concurrent_successes_uncount_exactly,
        limiter_keys_are_independent,
        a_quiet_key_starts_afresh,
        replicas_share_counts,
    );
    report.finish();
}
