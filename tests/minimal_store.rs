//! A host that serves client credentials and the authorization code grant
//! implements only the stores those use — `GrantStore` and
//! `AuthorizationCodeStore`, no device store — and its store runs the same
//! server code the bundled stores do. The builder names what a
//! configuration lacks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use portcullis::client::ClientId;
use portcullis::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, DeviceCodeGrant, RefreshTokenGrant,
};
use portcullis::store::{
    AccessTokenRecord, AuthorizationCodeStore, CodeRedemption, FoundCode, FoundRefreshToken,
    GrantId, GrantRecord, GrantStore, MemoryStore, NewCodeGrant, NewGrant,
    PendingAuthorizationRecord, PushedAuthorizationRecord, Redemption, RefreshRotation, Rotation,
    StoreError,
};
use portcullis::token::{ManualClock, TokenHash};
use portcullis::{AuthorizationServer, BuildError};

use common::{Harness, ISSUER, alive, cc_request, param, refresh_request, start};

/// A host's store for a server without the device grant: the two traits
/// it needs, over a store of its own (here a `MemoryStore`, counting the
/// calls that reach it).
#[derive(Clone)]
struct CodeGrantStore {
    inner: MemoryStore,
    calls: Arc<AtomicUsize>,
}

impl CodeGrantStore {
    fn call(&self) -> &MemoryStore {
        self.calls.fetch_add(1, Ordering::SeqCst);
        &self.inner
    }
}

impl GrantStore for CodeGrantStore {
    fn create_grant(&self, new: NewGrant) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.call().create_grant(new)
    }
    fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send
    {
        self.call().find_access_token(hash)
    }
    fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<FoundRefreshToken>, StoreError>> + Send {
        self.call().find_refresh_token(hash)
    }
    fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        rotation: &RefreshRotation,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
        self.call().rotate_refresh_token(old, rotation)
    }
    fn revoke_grant(&self, id: &GrantId) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.call().revoke_grant(id)
    }
    fn revoke_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.call().revoke_access_token(hash)
    }
    fn revoke_client_grants(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.call().revoke_client_grants(client_id)
    }
    fn purge_expired(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.call().purge_expired(now)
    }
}

impl AuthorizationCodeStore for CodeGrantStore {
    fn create_code_grant(
        &self,
        new: NewCodeGrant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.call().create_code_grant(new)
    }
    fn find_code(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<FoundCode>, StoreError>> + Send {
        self.call().find_code(hash)
    }
    fn redeem_code(
        &self,
        hash: &TokenHash,
        redemption: &CodeRedemption,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send {
        self.call().redeem_code(hash, redemption)
    }
    fn save_pending(
        &self,
        pending: PendingAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.call().save_pending(pending)
    }
    fn find_pending(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send {
        self.call().find_pending(hash)
    }
    fn take_pending(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send {
        self.call().take_pending(hash)
    }
    fn save_pushed(
        &self,
        pushed: PushedAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.call().save_pushed(pushed)
    }
    fn take_pushed(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<PushedAuthorizationRecord>, StoreError>> + Send {
        self.call().take_pushed(hash, client_id, now)
    }
    fn revoke_client_pending(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.call().revoke_client_pending(client_id)
    }
    fn purge_expired_codes(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.call().purge_expired_codes(now)
    }
}

fn host_harness() -> (Harness, Arc<AtomicUsize>) {
    let inner = MemoryStore::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let store = CodeGrantStore {
        inner: inner.clone(),
        calls: calls.clone(),
    };
    let clock = Arc::new(ManualClock::new(start()));
    let server = AuthorizationServer::builder(ISSUER)
        .clients(inner.clone())
        .grant_store(store.clone())
        .code_store(store)
        .grant(ClientCredentialsGrant)
        .grant(AuthorizationCodeGrant)
        .grant(RefreshTokenGrant)
        .clock(clock.clone())
        .build()
        .expect("client credentials and the code grant need no device store");
    let harness = Harness {
        server,
        store: inner,
        clock,
    };
    (harness, calls)
}

#[tokio::test]
async fn a_host_store_without_devices_serves_client_credentials() {
    let (h, calls) = host_harness();
    let client = h.cc_client().await;
    let before = calls.load(Ordering::SeqCst);
    let reply = h.post(cc_request(&client, "")).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert!(alive(&h, reply.access_token()).await);
    assert!(
        calls.load(Ordering::SeqCst) > before,
        "the host's store was not called"
    );
}

#[tokio::test]
async fn a_host_store_without_devices_serves_the_code_grant_and_its_rules() {
    let (h, calls) = host_harness();
    let client = h.native_client().await;
    let before = calls.load(Ordering::SeqCst);

    // A deferred request is kept by the host's code store.
    let mut pending = h
        .authorize(&format!(
            "response_type=code&client_id={}&code_challenge={}&code_challenge_method=S256&state=s",
            client.id,
            common::CHALLENGE
        ))
        .await
        .unwrap();
    let handle = h.server.defer(&mut pending).await.unwrap().to_owned();
    let resumed = h.server.pending_authorization(&handle).await.unwrap();
    let resumed = resumed.expect("the deferred request is found again");
    let response = h.server.approve(resumed, "alice", None).await.unwrap();
    assert_eq!(response.status(), 303);
    let params = common::redirect_params(&response);
    let code = param(&params, "code").unwrap().to_owned();

    let tokens = h.redeem(&client, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let access = tokens.access_token().to_owned();
    let refresh = tokens.json["refresh_token"].as_str().unwrap().to_owned();
    assert!(alive(&h, &access).await);

    // A refresh rotates through the host's grant store.
    let refreshed = h.post(refresh_request(&client, &refresh, "")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);

    // The replayed code is refused and its grant's tokens die with it.
    h.redeem(&client, &code)
        .await
        .assert_error(400, "invalid_grant");
    assert!(
        !alive(&h, &access).await,
        "a replayed code's tokens live on"
    );
    assert!(!alive(&h, refreshed.access_token()).await);
    assert!(calls.load(Ordering::SeqCst) > before);
}

#[tokio::test]
async fn the_builder_names_the_store_a_grant_needs() {
    let store = MemoryStore::new();
    let host = CodeGrantStore {
        inner: store.clone(),
        calls: Arc::default(),
    };
    // The device grant needs a device store, which this host lacks.
    let error = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .grant_store(host.clone())
        .code_store(host.clone())
        .grant(DeviceCodeGrant)
        .build()
        .unwrap_err();
    assert!(matches!(error, BuildError::MissingStore(_)), "{error:?}");
    assert!(error.to_string().contains("device_store"), "{error}");

    // The code grant needs a code store.
    let error = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .grant_store(host.clone())
        .grant(AuthorizationCodeGrant)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("code_store"), "{error}");

    // So does the implicit grant, whose deferred requests it keeps.
    let error = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .grant_store(host.clone())
        .enable_implicit_grant()
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("code_store"), "{error}");

    // And every server needs a grant store.
    let error = AuthorizationServer::builder(ISSUER)
        .clients(store.clone())
        .grant(ClientCredentialsGrant)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("grant_store"), "{error}");

    // Client credentials alone: the grant store is enough.
    AuthorizationServer::builder(ISSUER)
        .clients(store)
        .grant_store(host)
        .grant(ClientCredentialsGrant)
        .build()
        .unwrap();
}
