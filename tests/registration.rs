//! Registering clients through the server (RFC 6749 §2).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use portcullis::RegisterClientError;
use portcullis::client::{
    ClientProfile, ClientRegistration, ClientRegistry, ClientType, RegistrationError,
};
use portcullis::protocol::GrantType;
use portcullis::store::StoreError;

#[tokio::test]
async fn registered_clients_are_stored_with_only_a_secret_hash() {
    let h = harness();
    let r = h
        .server
        .register_client(
            ClientRegistration::web_application()
                .name("Billing")
                .grant_type(GrantType::CLIENT_CREDENTIALS)
                .scope("read".parse().unwrap()),
        )
        .await
        .unwrap();
    let secret = r.secret.unwrap();
    let stored = h
        .store
        .find_client(r.client.id().as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name(), Some("Billing"));
    assert_eq!(stored.client_type(), ClientType::Confidential);
    assert_eq!(stored.profile(), ClientProfile::WebApplication);
    // Only the hash is kept, and it verifies the secret returned once.
    let json = serde_json::to_string(&*stored).unwrap();
    assert!(!json.contains(secret.expose_secret()));
    assert!(stored.secret_hash().unwrap().verify(secret.expose_secret()));
    // The secret's Debug output is redacted.
    assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
}

#[tokio::test]
async fn client_ids_are_unique() {
    let h = harness();
    let reg = || {
        ClientRegistration::web_application()
            .client_id("billing")
            .grant_type(GrantType::CLIENT_CREDENTIALS)
    };
    h.server.register_client(reg()).await.unwrap();
    let err = h.server.register_client(reg()).await.unwrap_err();
    assert!(
        matches!(err, RegisterClientError::Storage(StoreError::Conflict)),
        "{err:?}"
    );
}

#[tokio::test]
async fn invalid_registrations_store_nothing() {
    let h = harness();
    let err = h
        .server
        .register_client(
            ClientRegistration::web_application()
                .client_id("bad")
                .grant_type(GrantType::AUTHORIZATION_CODE)
                .redirect_uri("http://client.example/cb"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RegisterClientError::Invalid(RegistrationError::InvalidRedirectUri { .. })
    ));
    assert!(h.store.find_client("bad").await.unwrap().is_none());
}
