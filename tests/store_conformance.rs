//! The store conformance suite (`portcullis::testing`) against every store
//! the crate ships: the memory store, and the SQL store on SQLite (in memory
//! and in a file) and on PostgreSQL (when `PORTCULLIS_TEST_POSTGRES_URL` is
//! set) — every contract of `TokenStore` and `ClientRegistry`, races
//! included, on a fresh store per case. And the suite itself: it fails a
//! store that breaks a contract, naming the cases.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis::store::MemoryStore;
use portcullis::testing::{cases, run_store_conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_store_conforms() {
    run_store_conformance(|| async { MemoryStore::new() }).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_case_runs_alone() {
    cases::concurrent_code_redemptions_redeem_once(MemoryStore::new()).await;
}

/// A store that answers a replayed code as a first redemption fails the two
/// cases on code redemption, and only those; the panic names both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_names_the_cases_a_broken_store_fails() {
    let run = tokio::spawn(run_store_conformance(|| async {
        broken::ReplayableCodes::default()
    }));
    let message = *run
        .await
        .expect_err("the suite must fail a store that redeems a code twice")
        .into_panic()
        .downcast::<String>()
        .unwrap();
    assert!(message.contains("store conformance: 2 of "), "{message}");
    assert!(
        message.contains(
            "\n  - redeem_code_once: assertion `left == right` failed: redeem_code of a \
             redeemed code must be AlreadyRedeemed"
        ),
        "{message}"
    );
    assert!(
        message.contains("\n  - concurrent_code_redemptions_redeem_once: "),
        "{message}"
    );
}

#[tokio::test(flavor = "current_thread")]
#[should_panic(expected = "must run within a multi-threaded Tokio runtime")]
async fn the_suite_refuses_a_current_thread_runtime() {
    run_store_conformance(|| async { MemoryStore::new() }).await;
}

mod broken {
    //! A memory store with one defect: a replayed code is answered as
    //! `Redeemed` (its tokens are not stored).

    use std::future::Future;
    use std::sync::Arc;
    use std::time::SystemTime;

    use portcullis::client::{Client, ClientId, ClientRegistry};
    use portcullis::store::{
        AccessTokenRecord, DeviceAuthorizationRecord, DeviceDecision, DeviceRedemption, FoundCode,
        FoundRefreshToken, GrantId, GrantRecord, MemoryStore, NewGrant, PendingAuthorizationRecord,
        PolledDeviceCode, Redemption, RefreshTokenRecord, Rotation, StoreError, TokenStore,
    };
    use portcullis::token::TokenHash;

    #[derive(Debug, Clone, Default)]
    pub struct ReplayableCodes(MemoryStore);

    impl ClientRegistry for ReplayableCodes {
        fn find_client(
            &self,
            client_id: &str,
        ) -> impl Future<Output = Result<Option<Arc<Client>>, StoreError>> + Send {
            self.0.find_client(client_id)
        }
        fn insert_client(
            &self,
            client: Client,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.0.insert_client(client)
        }
        fn update_client(
            &self,
            client: Client,
            expected_token: Option<&TokenHash>,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.0.update_client(client, expected_token)
        }
        fn delete_client(
            &self,
            client_id: &str,
            expected_token: Option<&TokenHash>,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.0.delete_client(client_id, expected_token)
        }
    }

    impl TokenStore for ReplayableCodes {
        async fn redeem_code(
            &self,
            hash: &TokenHash,
            access_token: AccessTokenRecord,
            refresh_token: Option<RefreshTokenRecord>,
        ) -> Result<Redemption, StoreError> {
            match self
                .0
                .redeem_code(hash, access_token, refresh_token)
                .await?
            {
                Redemption::AlreadyRedeemed => Ok(Redemption::Redeemed),
                other => Ok(other),
            }
        }

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
            new_refresh: RefreshTokenRecord,
            new_access: AccessTokenRecord,
        ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
            self.0.rotate_refresh_token(old, new_refresh, new_access)
        }
        fn find_code(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<FoundCode>, StoreError>> + Send {
            self.0.find_code(hash)
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
        fn revoke_client_grants(
            &self,
            client_id: &ClientId,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.0.revoke_client_grants(client_id)
        }
        fn save_pending(
            &self,
            pending: PendingAuthorizationRecord,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.0.save_pending(pending)
        }
        fn find_pending(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send
        {
            self.0.find_pending(hash)
        }
        fn take_pending(
            &self,
            hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send
        {
            self.0.take_pending(hash)
        }
        fn purge_expired(
            &self,
            now: SystemTime,
        ) -> impl Future<Output = Result<u64, StoreError>> + Send {
            self.0.purge_expired(now)
        }
        fn save_device_authorization(
            &self,
            record: DeviceAuthorizationRecord,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            self.0.save_device_authorization(record)
        }
        fn find_device_authorization(
            &self,
            user_code_hash: &TokenHash,
        ) -> impl Future<Output = Result<Option<DeviceAuthorizationRecord>, StoreError>> + Send
        {
            self.0.find_device_authorization(user_code_hash)
        }
        fn decide_device_authorization(
            &self,
            device_code_hash: &TokenHash,
            decision: DeviceDecision,
            now: SystemTime,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            self.0
                .decide_device_authorization(device_code_hash, decision, now)
        }
        fn poll_device_code(
            &self,
            device_code_hash: &TokenHash,
            client_id: &ClientId,
            now: SystemTime,
        ) -> impl Future<Output = Result<Option<PolledDeviceCode>, StoreError>> + Send {
            self.0.poll_device_code(device_code_hash, client_id, now)
        }
        fn redeem_device_code(
            &self,
            device_code_hash: &TokenHash,
            new: NewGrant,
        ) -> impl Future<Output = Result<DeviceRedemption, StoreError>> + Send {
            self.0.redeem_device_code(device_code_hash, new)
        }
    }
}
