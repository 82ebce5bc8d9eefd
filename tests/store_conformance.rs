//! The store conformance suite (`portcullis::testing`) against every store
//! the crate ships: the memory store, and the SQL store on SQLite (in memory
//! and in a file) and on PostgreSQL (when `PORTCULLIS_TEST_POSTGRES_URL` is
//! set) — every contract of `ClientRegistry`, `GrantStore`,
//! `AuthorizationCodeStore` and `DeviceAuthorizationStore`, races included,
//! on a fresh store per case. And the suite itself: it fails a store that
//! breaks a contract, naming the cases, and a store of grants alone runs its
//! part. And the limiter part of the suite, on the memory limiter and the
//! SQL limiter over the same databases.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use broken::{Broken, Bug};
use portcullis::client::MemoryLimiter;
use portcullis::store::MemoryStore;
use portcullis::testing::{
    cases, run_grant_store_conformance, run_limiter_conformance, run_store_conformance,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_store_conforms() {
    run_store_conformance(|| async { MemoryStore::new() }).await;
}

/// A host that keeps only grants and tokens (serving client credentials,
/// say) implements `GrantStore` alone, and runs that part of the suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_of_grants_alone_runs_its_part() {
    run_grant_store_conformance(|| async { grants_only::GrantsOnly::default() }).await;
}

#[cfg(feature = "sql")]
mod sql_support;

/// Runs the suite on fresh SQL databases of `backend`, each kept (and then
/// cleaned up) until the suite ends; nothing to do for PostgreSQL without a
/// server.
#[cfg(feature = "sql")]
async fn sql_store_conforms(backend: sql_support::Backend) {
    use std::sync::{Arc, Mutex};
    if sql_support::TestDb::new(backend, "store_conformance")
        .await
        .is_none()
    {
        return;
    }
    let databases = Arc::new(Mutex::new(Vec::new()));
    run_store_conformance(move || {
        let databases = Arc::clone(&databases);
        async move {
            let db = sql_support::TestDb::new(backend, "store_conformance")
                .await
                .unwrap();
            let store = db.open().await;
            databases.lock().unwrap().push(db);
            store
        }
    })
    .await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_store_on_sqlite_in_memory_conforms() {
    sql_store_conforms(sql_support::Backend::SqliteMemory).await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_store_on_a_sqlite_file_conforms() {
    sql_store_conforms(sql_support::Backend::SqliteFile).await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_store_on_postgres_conforms() {
    sql_store_conforms(sql_support::Backend::Postgres).await;
}

/// The limiter part of the suite (`run_limiter_conformance`): a thousand
/// concurrent attempts at one key admit no more than the policy allows, on
/// the in-process limiter and on the SQL limiter over SQLite (in memory and
/// in a file) and PostgreSQL, with two replicas on one database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_limiter_conforms() {
    run_limiter_conformance(|policy| async move {
        let limiter = MemoryLimiter::new(policy);
        (limiter.clone(), limiter)
    })
    .await;
}

/// A memory limiter at its smallest capacity still keeps every contract for
/// the few keys each case uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_memory_limiter_of_small_capacity_conforms() {
    run_limiter_conformance(|policy| async move {
        let limiter = MemoryLimiter::new(policy).with_capacity(64);
        (limiter.clone(), limiter)
    })
    .await;
}

/// Runs the limiter suite on SQL limiters over fresh databases of
/// `backend`: two stores opened on each, as two replicas (one store for
/// SQLite in memory, which only its own pool sees).
#[cfg(feature = "sql")]
async fn sql_limiter_conforms(backend: sql_support::Backend) {
    use std::sync::{Arc, Mutex};
    if sql_support::TestDb::new(backend, "limiter_conformance")
        .await
        .is_none()
    {
        return;
    }
    let databases = Arc::new(Mutex::new(Vec::new()));
    run_limiter_conformance(move |policy| {
        let databases = Arc::clone(&databases);
        async move {
            let db = sql_support::TestDb::new(backend, "limiter_conformance")
                .await
                .unwrap();
            let first = db.open().await;
            let second = match backend {
                sql_support::Backend::SqliteMemory => first.clone(),
                _ => db.open().await,
            };
            databases.lock().unwrap().push(db);
            (first.limiter(policy), second.limiter(policy))
        }
    })
    .await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_limiter_on_sqlite_in_memory_conforms() {
    sql_limiter_conforms(sql_support::Backend::SqliteMemory).await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_limiter_on_a_sqlite_file_conforms() {
    sql_limiter_conforms(sql_support::Backend::SqliteFile).await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_limiter_on_postgres_conforms() {
    sql_limiter_conforms(sql_support::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_case_runs_alone() {
    cases::concurrent_code_redemptions_redeem_once(MemoryStore::new()).await;
}

/// A store that answers a replayed code as a first redemption fails the
/// cases on code replays, and only those; the panic names each with its
/// contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_names_the_cases_a_broken_store_fails() {
    let message = suite_failure(Bug::ReplayRedeems).await;
    let total = message
        .strip_prefix("store conformance: ")
        .and_then(|rest| rest.split_once(" cases failed:"))
        .map(|(counts, _)| counts.to_owned());
    assert!(
        total.is_some_and(|counts| counts.split_once(" of ").is_some()),
        "{message}"
    );
    assert!(
        message.contains(
            "\n  - redeem_code_once: assertion `left == right` failed: redeem_code of a \
             redeemed code by its own client, every other check passing, is a replay: it must \
             be Revoked with the grant's id (RFC 6819 §5.2.1.1)"
        ),
        "{message}"
    );
}

/// Each broken store fails the cases that state the contract it breaks,
/// and no other (a race may miss the defect in a round, so a race case is
/// named where the defect shows only when the race is lost in a certain
/// order).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_fails_each_broken_store_on_the_contract_it_breaks() {
    const RACES: &[&str] = &[
        "concurrent_code_redemptions_redeem_once",
        "concurrent_rotations_rotate_once",
        "a_redemption_losing_a_race_revokes_the_grant",
        "a_rotation_losing_a_race_revokes_the_grant",
    ];
    let expectations: [(Bug, &[&str]); 8] = [
        (
            Bug::ReplayRedeems,
            &[
                "redeem_code_once",
                "redeem_code_refuses_an_expired_code",
                "refused_replays_do_not_revoke",
            ],
        ),
        (
            Bug::NeverRevokes,
            &[
                "redeem_code_once",
                "redeem_code_refuses_an_expired_code",
                "refused_replays_do_not_revoke",
                "rotate_refresh_token_then_reuse",
                "rotate_refresh_token_refuses_an_expired_token_or_grant",
                "rotate_refresh_token_checks_the_binding",
            ],
        ),
        (
            Bug::RevokesOnAnyReplay,
            &[
                "refused_replays_do_not_revoke",
                "rotate_refresh_token_refuses_another_client",
                "rotate_refresh_token_checks_the_binding",
                "redeem_code_checks_its_dpop_jkt",
            ],
        ),
        (
            Bug::IgnoresRedirectUri,
            &[
                "redeem_code_checks_the_redirect_uri",
                "refused_replays_do_not_revoke",
            ],
        ),
        (
            Bug::AcceptsVerifierWithoutChallenge,
            &["redeem_code_checks_pkce"],
        ),
        (
            Bug::ChecksScopeAgainstTheGrant,
            &["rotate_refresh_token_narrows_scope_but_never_widens"],
        ),
        (
            Bug::RevokesOnRefusal,
            &[
                "redeem_code_refuses_another_client",
                "redeem_code_checks_the_redirect_uri",
                "redeem_code_checks_pkce",
                "redeem_code_refuses_an_expired_code",
                "refused_replays_do_not_revoke",
                "rotate_refresh_token_refuses_another_client",
                "rotate_refresh_token_refuses_an_expired_token_or_grant",
                "rotate_refresh_token_narrows_scope_but_never_widens",
                "rotate_refresh_token_checks_the_binding",
                "redeem_code_checks_its_dpop_jkt",
            ],
        ),
        (
            Bug::CountsThenInserts,
            &["concurrent_quota_inserts_never_exceed_the_quota"],
        ),
    ];
    for (bug, expected) in expectations {
        let message = suite_failure(bug).await;
        let failed: BTreeSet<&str> = message
            .split("\n  - ")
            .skip(1)
            .filter_map(|line| line.split_once(':').map(|(case, _)| case))
            .collect();
        let missed: Vec<_> = expected.iter().filter(|c| !failed.contains(*c)).collect();
        let extra: Vec<_> = failed
            .iter()
            .filter(|c| !expected.contains(c) && !RACES.contains(c))
            .collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{bug:?}: the suite should have failed {missed:?} too, and not {extra:?}:\n{message}"
        );
    }
}

/// The panic message of the suite run on stores with `bug`.
async fn suite_failure(bug: Bug) -> String {
    let run = tokio::spawn(run_store_conformance(
        move || async move { Broken::new(bug) },
    ));
    *run.await
        .expect_err("the suite must fail a broken store")
        .into_panic()
        .downcast::<String>()
        .unwrap()
}

/// The limiter suite fails a limiter that checks, then counts, in two steps
/// (the flaw that let concurrent guesses through), and one that counts
/// refused attempts, each on the case of the contract it breaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_limiter_suite_fails_each_broken_limiter_on_the_contract_it_breaks() {
    use broken_limiter::{Flaw, Limiter};
    for (flaw, case) in [
        (
            Flaw::ChecksThenCounts,
            "concurrent_admissions_admit_the_allowance_and_one",
        ),
        (Flaw::CountsRefusals, "refused_attempts_are_not_counted"),
    ] {
        let run = tokio::spawn(run_limiter_conformance(move |_| async move {
            let limiter = Limiter::new(flaw);
            (limiter.clone(), limiter)
        }));
        let message = *run
            .await
            .expect_err("the suite must fail a broken limiter")
            .into_panic()
            .downcast::<String>()
            .unwrap();
        assert!(message.contains(case), "{flaw:?}: {message}");
    }
}

/// Limiters with one flaw each, after the built-in policy of the suite: three
/// failures free, then a 10-second block.
mod broken_limiter {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use portcullis::client::{Admission, AuthLimiter};
    use portcullis::store::StoreError;

    #[derive(Debug, Clone, Copy)]
    pub enum Flaw {
        /// Reads the count, waits a millisecond, then writes it: not atomic.
        ChecksThenCounts,
        /// Counts refused attempts too, so a block never ends under attack.
        CountsRefusals,
    }

    #[derive(Clone)]
    pub struct Limiter {
        flaw: Flaw,
        /// Per key: failures, and when the block ends.
        keys: Arc<Mutex<HashMap<String, (u32, SystemTime)>>>,
    }

    impl Limiter {
        pub fn new(flaw: Flaw) -> Self {
            Self {
                flaw,
                keys: Arc::default(),
            }
        }

        fn wait(failures: u32) -> Duration {
            match failures {
                0..=3 => Duration::ZERO,
                n => Duration::from_secs(10 << (n - 4).min(3)),
            }
        }
    }

    impl AuthLimiter for Limiter {
        async fn admit(&self, key: &str, now: SystemTime) -> Result<Admission, StoreError> {
            let (failures, blocked_until) = self
                .keys
                .lock()
                .unwrap()
                .get(key)
                .copied()
                .unwrap_or((0, now));
            if let Flaw::ChecksThenCounts = self.flaw {
                // A millisecond between the read and the write, not a bare
                // yield: a yielded task can be resumed before any other
                // racer reads, which serialises the flaw away on a busy
                // machine and lets the broken limiter pass.
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            let mut keys = self.keys.lock().unwrap();
            if let Ok(wait) = blocked_until.duration_since(now) {
                if !wait.is_zero() {
                    if let Flaw::CountsRefusals = self.flaw {
                        let n = failures + 1;
                        keys.insert(key.to_owned(), (n, now + Self::wait(n)));
                    }
                    return Ok(Admission::Refuse { retry_after: wait });
                }
            }
            let n = match self.flaw {
                Flaw::ChecksThenCounts => failures + 1,
                Flaw::CountsRefusals => keys.get(key).map_or(0, |e| e.0) + 1,
            };
            keys.insert(key.to_owned(), (n, now + Self::wait(n)));
            Ok(Admission::Allow)
        }

        async fn succeeded(&self, key: &str, _: SystemTime) -> Result<(), StoreError> {
            let mut keys = self.keys.lock().unwrap();
            if let Some(entry) = keys.get_mut(key) {
                entry.0 = entry.0.saturating_sub(1);
            }
            Ok(())
        }
    }
}

#[tokio::test(flavor = "current_thread")]
#[should_panic(expected = "must run within a multi-threaded Tokio runtime")]
async fn the_suite_refuses_a_current_thread_runtime() {
    run_store_conformance(|| async { MemoryStore::new() }).await;
}

mod grants_only {
    //! A store implementing `GrantStore` and nothing else, over the memory
    //! store: what a host serving only client credentials keeps.

    use std::future::Future;
    use std::time::SystemTime;

    use portcullis::client::ClientId;
    use portcullis::store::{
        AccessTokenRecord, FoundRefreshToken, GrantId, GrantRecord, GrantStore, MemoryStore,
        NewGrant, RefreshRotation, Rotation, StoreError,
    };
    use portcullis::token::TokenHash;

    #[derive(Debug, Clone, Default)]
    pub struct GrantsOnly(MemoryStore);

    impl GrantStore for GrantsOnly {
        fn create_grant(
            &self,
            new: NewGrant,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.0.create_grant(new)
        }
        fn find_access_token(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send
        {
            self.0.find_access_token(hash)
        }
        fn find_refresh_token(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<FoundRefreshToken>, StoreError>> + Send {
            self.0.find_refresh_token(hash)
        }
        fn rotate_refresh_token(
            &self,
            old: &TokenHash,
            rotation: &RefreshRotation,
        ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
            self.0.rotate_refresh_token(old, rotation)
        }
        fn revoke_grant(
            &self,
            id: &GrantId,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.0.revoke_grant(id)
        }
        fn revoke_access_token(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.0.revoke_access_token(hash)
        }
        fn add_access_token(
            &self,
            token: AccessTokenRecord,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.0.add_access_token(token)
        }
        fn find_grant(
            &self,
            id: &GrantId,
        ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send {
            self.0.find_grant(id)
        }
        fn revoke_client_grants(
            &self,
            client_id: &ClientId,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.0.revoke_client_grants(client_id)
        }
        fn purge_expired(
            &self,
            now: SystemTime,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.0.purge_expired(now)
        }
    }
}

mod broken {
    //! A memory store with one defect in redeeming codes or rotating refresh
    //! tokens, each one a store might plausibly have — a check left out of a
    //! SQL statement, a condition tested in the wrong order.

    use std::collections::HashMap;
    use std::future::Future;
    use std::sync::{Arc, Mutex};
    use std::time::SystemTime;

    use portcullis::client::{Client, ClientId, ClientRegistry, RegistrationQuota};
    use portcullis::protocol::CodeVerifier;
    use portcullis::store::{
        AccessTokenRecord, AuthorizationCodeStore, CodeRedemption, Decision,
        DeviceAuthorizationRecord, DeviceAuthorizationStore, DeviceCollection, DeviceDecision,
        FoundCode, FoundRefreshToken, GrantId, GrantRecord, GrantStore, MemoryStore, NewCodeGrant,
        NewGrant, PendingAuthorizationRecord, PolledDeviceCode, PushedAuthorizationRecord,
        Redemption, RefreshRotation, Rotation, StoreError,
    };
    use portcullis::token::TokenHash;

    /// The defect.
    #[derive(Debug, Clone, Copy)]
    pub enum Bug {
        /// A replayed code is answered as a first redemption (storing
        /// nothing, revoking nothing).
        ReplayRedeems,
        /// A replayed code or a reused refresh token is refused, but the
        /// grant is not revoked.
        NeverRevokes,
        /// Any presentation of a redeemed code or a rotated-out refresh
        /// token revokes the grant, whoever presents it and whatever it
        /// fails.
        RevokesOnAnyReplay,
        /// `redirect_uri` is not compared.
        IgnoresRedirectUri,
        /// A verifier for a code issued without a challenge is ignored (a
        /// PKCE downgrade, RFC 9700 §4.8.2).
        AcceptsVerifierWithoutChallenge,
        /// A narrower scope is checked against the grant's scope instead of
        /// the refresh token's.
        ChecksScopeAgainstTheGrant,
        /// A refused redemption or rotation revokes the grant.
        RevokesOnRefusal,
        /// A registration quota is counted, then the client inserted, in two
        /// steps: concurrent registrations exceed it.
        CountsThenInserts,
    }

    /// Per registrant, its clients: what `CountsThenInserts` counts.
    type Registrants = Arc<Mutex<HashMap<TokenHash, Vec<String>>>>;

    #[derive(Debug, Clone)]
    pub struct Broken {
        inner: MemoryStore,
        bug: Bug,
        registrants: Registrants,
    }

    impl Broken {
        pub fn new(bug: Bug) -> Self {
            Self {
                inner: MemoryStore::new(),
                bug,
                registrants: Arc::default(),
            }
        }

        /// Counts, yields, then inserts: the race the quota's contract
        /// rules out.
        async fn count_then_insert(
            &self,
            client: Client,
            quota: &RegistrationQuota,
        ) -> Result<bool, StoreError> {
            let count = self
                .registrants
                .lock()
                .unwrap()
                .get(quota.registrant())
                .map_or(0, Vec::len);
            tokio::task::yield_now().await;
            if u64::try_from(count).unwrap() >= quota.max_clients() {
                return Ok(false);
            }
            let id = client.id().as_str().to_owned();
            let unbounded = RegistrationQuota::new(*quota.registrant(), u64::MAX);
            let stored = self
                .inner
                .insert_client_within_quota(client, &unbounded)
                .await?;
            self.registrants
                .lock()
                .unwrap()
                .entry(*quota.registrant())
                .or_default()
                .push(id);
            Ok(stored)
        }
    }

    /// `redemption` with its `redirect_uri` replaced.
    fn with_redirect_uri(
        redemption: &CodeRedemption,
        redirect_uri: Option<&str>,
    ) -> CodeRedemption {
        let verifier = redemption
            .code_verifier
            .as_ref()
            .map(|v| CodeVerifier::new(v.expose_secret()));
        without_binding(redemption)
            .redirect_uri(redirect_uri)
            .code_verifier(verifier)
    }

    /// `redemption` without its `code_verifier`.
    fn without_verifier(redemption: &CodeRedemption) -> CodeRedemption {
        without_binding(redemption).redirect_uri(redemption.redirect_uri.as_deref())
    }

    fn without_binding(redemption: &CodeRedemption) -> CodeRedemption {
        CodeRedemption::new(
            redemption.client_id.clone(),
            redemption.now,
            redemption.access_token.clone(),
            redemption.refresh_token.clone(),
        )
        .access_scope(redemption.access_scope.clone())
        .with_proven_key(redemption.proven_key.clone())
    }

    impl GrantStore for Broken {
        async fn rotate_refresh_token(
            &self,
            old: &TokenHash,
            rotation: &RefreshRotation,
        ) -> Result<Rotation, StoreError> {
            let Some(found) = self.inner.find_refresh_token(old).await? else {
                return self.inner.rotate_refresh_token(old, rotation).await;
            };
            let reuse = rotation.decide(&found) == Decision::RevokeGrant;
            match self.bug {
                Bug::NeverRevokes if reuse => Ok(Rotation::Refused(Some(found))),
                Bug::RevokesOnAnyReplay if !found.current => {
                    self.inner.revoke_grant(&found.grant.id).await?;
                    Ok(Rotation::Revoked(found.grant.id))
                }
                Bug::ChecksScopeAgainstTheGrant => {
                    let mut lenient = rotation.clone();
                    if lenient
                        .scope
                        .as_ref()
                        .is_some_and(|s| s.is_subset(&found.grant.scope))
                    {
                        // Within the grant: let it through, as the token's
                        // own scope would be.
                        lenient.scope = None;
                    }
                    self.inner.rotate_refresh_token(old, &lenient).await
                }
                Bug::RevokesOnRefusal => {
                    let outcome = self.inner.rotate_refresh_token(old, rotation).await?;
                    if let Rotation::Refused(Some(found)) = &outcome {
                        self.inner.revoke_grant(&found.grant.id).await?;
                    }
                    Ok(outcome)
                }
                _ => self.inner.rotate_refresh_token(old, rotation).await,
            }
        }

        fn create_grant(
            &self,
            new: NewGrant,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.inner.create_grant(new)
        }
        fn find_access_token(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send
        {
            self.inner.find_access_token(hash)
        }
        fn find_refresh_token(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<FoundRefreshToken>, StoreError>> + Send {
            self.inner.find_refresh_token(hash)
        }
        fn revoke_grant(
            &self,
            id: &GrantId,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.inner.revoke_grant(id)
        }
        fn revoke_access_token(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.inner.revoke_access_token(hash)
        }
        fn add_access_token(
            &self,
            token: AccessTokenRecord,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.inner.add_access_token(token)
        }
        fn find_grant(
            &self,
            id: &GrantId,
        ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send {
            self.inner.find_grant(id)
        }
        fn revoke_client_grants(
            &self,
            client_id: &ClientId,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.inner.revoke_client_grants(client_id)
        }
        fn purge_expired(
            &self,
            now: SystemTime,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.inner.purge_expired(now)
        }
    }

    impl AuthorizationCodeStore for Broken {
        async fn redeem_code(
            &self,
            hash: &TokenHash,
            redemption: &CodeRedemption,
        ) -> Result<Redemption, StoreError> {
            let Some(found) = self.inner.find_code(hash).await? else {
                return self.inner.redeem_code(hash, redemption).await;
            };
            let replay = redemption.decide(&found) == Decision::RevokeGrant;
            match self.bug {
                Bug::ReplayRedeems if replay => Ok(Redemption::Redeemed(found)),
                Bug::NeverRevokes if replay => Ok(Redemption::Refused(Some(found))),
                Bug::RevokesOnAnyReplay if found.redeemed => {
                    self.inner.revoke_grant(&found.grant.id).await?;
                    Ok(Redemption::Revoked(found.grant.id))
                }
                Bug::IgnoresRedirectUri => {
                    let code = &found.code;
                    let expected = code.redirect_uri_in_request.then_some(&*code.redirect_uri);
                    let rewritten = with_redirect_uri(redemption, expected);
                    self.inner.redeem_code(hash, &rewritten).await
                }
                Bug::AcceptsVerifierWithoutChallenge if found.code.challenge.is_none() => {
                    self.inner
                        .redeem_code(hash, &without_verifier(redemption))
                        .await
                }
                Bug::RevokesOnRefusal => {
                    let outcome = self.inner.redeem_code(hash, redemption).await?;
                    if let Redemption::Refused(Some(found)) = &outcome {
                        self.inner.revoke_grant(&found.grant.id).await?;
                    }
                    Ok(outcome)
                }
                _ => self.inner.redeem_code(hash, redemption).await,
            }
        }

        fn create_code_grant(
            &self,
            new: NewCodeGrant,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.inner.create_code_grant(new)
        }
        fn find_code(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<FoundCode>, StoreError>> + Send {
            self.inner.find_code(hash)
        }
        fn save_pending(
            &self,
            pending: PendingAuthorizationRecord,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.inner.save_pending(pending)
        }
        fn find_pending(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send
        {
            self.inner.find_pending(hash)
        }
        fn take_pending(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send
        {
            self.inner.take_pending(hash)
        }
        fn save_pushed(
            &self,
            pushed: PushedAuthorizationRecord,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.inner.save_pushed(pushed)
        }
        fn take_pushed(
            &self,
            hash: &TokenHash,
            client_id: &ClientId,
            now: SystemTime,
        ) -> impl Future<Output = Result<Option<PushedAuthorizationRecord>, StoreError>> + Send
        {
            self.inner.take_pushed(hash, client_id, now)
        }
        fn revoke_client_pending(
            &self,
            client_id: &ClientId,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.inner.revoke_client_pending(client_id)
        }
        fn purge_expired_codes(
            &self,
            now: SystemTime,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.inner.purge_expired_codes(now)
        }
    }

    impl DeviceAuthorizationStore for Broken {
        fn save_device_authorization(
            &self,
            record: DeviceAuthorizationRecord,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.inner.save_device_authorization(record)
        }
        fn find_device_authorization(
            &self,
            user_code_hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<DeviceAuthorizationRecord>, StoreError>> + Send
        {
            self.inner.find_device_authorization(user_code_hash)
        }
        fn decide_device_authorization(
            &self,
            device_code_hash: &TokenHash,
            decision: DeviceDecision,
            now: SystemTime,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.inner
                .decide_device_authorization(device_code_hash, decision, now)
        }
        fn poll_device_code(
            &self,
            device_code_hash: &TokenHash,
            client_id: &ClientId,
            now: SystemTime,
            collection: &DeviceCollection,
        ) -> impl Future<Output = Result<Option<PolledDeviceCode>, StoreError>> + Send {
            self.inner
                .poll_device_code(device_code_hash, client_id, now, collection)
        }
        fn revoke_client_device_authorizations(
            &self,
            client_id: &ClientId,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.inner.revoke_client_device_authorizations(client_id)
        }
        fn purge_expired_device_authorizations(
            &self,
            now: SystemTime,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.inner.purge_expired_device_authorizations(now)
        }
    }

    impl ClientRegistry for Broken {
        fn find_client(
            &self,
            client_id: &str,
        ) -> impl Future<Output = Result<Option<Arc<Client>>, StoreError>> + Send {
            self.inner.find_client(client_id)
        }
        fn insert_client(
            &self,
            client: Client,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.inner.insert_client(client)
        }
        async fn insert_client_within_quota(
            &self,
            client: Client,
            quota: &RegistrationQuota,
        ) -> Result<bool, StoreError> {
            match self.bug {
                Bug::CountsThenInserts => self.count_then_insert(client, quota).await,
                _ => self.inner.insert_client_within_quota(client, quota).await,
            }
        }
        fn update_client(
            &self,
            client: Client,
            expected_token: Option<&TokenHash>,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.inner.update_client(client, expected_token)
        }
        async fn delete_client(
            &self,
            client_id: &str,
            expected_token: Option<&TokenHash>,
        ) -> Result<bool, StoreError> {
            let deleted = self.inner.delete_client(client_id, expected_token).await?;
            if deleted {
                for clients in self.registrants.lock().unwrap().values_mut() {
                    clients.retain(|id| id != client_id);
                }
            }
            Ok(deleted)
        }
    }
}

/// The replay-cache part of the suite (`run_replay_cache_conformance`,
/// RFC 7523 §3 item 7): a `jti` is accepted once, and of simultaneous first
/// uses on two replicas exactly one wins — on the memory store and on the
/// SQL store over SQLite (in memory and in a file) and PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_replay_cache_conforms() {
    portcullis::testing::run_replay_cache_conformance(|| async {
        let store = MemoryStore::new();
        (store.clone(), store)
    })
    .await;
}

/// Runs the replay-cache suite on SQL stores over fresh databases of
/// `backend`: two stores opened on each, as two replicas (one store for
/// SQLite in memory, which only its own pool sees).
#[cfg(feature = "sql")]
async fn sql_replay_cache_conforms(backend: sql_support::Backend) {
    use std::sync::{Arc, Mutex};
    if sql_support::TestDb::new(backend, "replay_conformance")
        .await
        .is_none()
    {
        return;
    }
    let databases = Arc::new(Mutex::new(Vec::new()));
    portcullis::testing::run_replay_cache_conformance(move || {
        let databases = Arc::clone(&databases);
        async move {
            let db = sql_support::TestDb::new(backend, "replay_conformance")
                .await
                .unwrap();
            let first = db.open().await;
            let second = match backend {
                sql_support::Backend::SqliteMemory => first.clone(),
                _ => db.open().await,
            };
            databases.lock().unwrap().push(db);
            (first, second)
        }
    })
    .await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_replay_cache_on_sqlite_in_memory_conforms() {
    sql_replay_cache_conforms(sql_support::Backend::SqliteMemory).await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_replay_cache_on_a_sqlite_file_conforms() {
    sql_replay_cache_conforms(sql_support::Backend::SqliteFile).await;
}

#[cfg(feature = "sql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sql_replay_cache_on_postgres_conforms() {
    sql_replay_cache_conforms(sql_support::Backend::Postgres).await;
}
