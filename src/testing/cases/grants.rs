//! `create_grant` and the lookups: what is stored is found, exactly.

use crate::client::ClientRegistry;
use crate::store::{FoundCode, FoundRefreshToken, TokenStore};
use crate::testing::fixtures::{
    Issued, assert_access_as_stored, hash, now, ok, pending, register_client,
};

/// A grant stored with an access token: `find_access_token` returns the token
/// and the grant exactly as stored, and the grant has no refresh token or
/// code.
pub async fn create_grant_with_access_token<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let client = register_client(&store, "client").await;
    let issued = Issued::access(&client, now()).create(&store).await;
    let mut own_behalf = Issued::access(&client, now());
    // A grant on the client's own behalf (client credentials): no subject.
    own_behalf.grant.subject = None;
    let own_behalf = own_behalf.create(&store).await;

    for issued in [issued, own_behalf] {
        assert_access_as_stored(&store, &issued).await;
        assert!(
            ok(
                store.find_refresh_token(&issued.access_hash()).await,
                "find_refresh_token"
            )
            .is_none(),
            "an access token's hash must not be found as a refresh token"
        );
        assert!(
            ok(store.find_code(&issued.access_hash()).await, "find_code").is_none(),
            "an access token's hash must not be found as a code"
        );
    }
}

/// A grant stored with an access token and a refresh token: both are found
/// exactly as stored, with the grant, and the refresh token is current.
pub async fn create_grant_with_refresh_token<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let client = register_client(&store, "client").await;
    let issued = Issued::access_and_refresh(&client, now())
        .create(&store)
        .await;
    assert_access_as_stored(&store, &issued).await;
    assert_eq!(
        ok(
            store.find_refresh_token(&issued.refresh_hash()).await,
            "find_refresh_token"
        ),
        Some(FoundRefreshToken {
            record: issued.refresh.clone().unwrap(),
            grant: issued.grant.clone(),
            current: true,
        }),
        "find_refresh_token must return the refresh token and its grant exactly as stored, \
         current"
    );
    assert!(
        ok(
            store.find_access_token(&issued.refresh_hash()).await,
            "find_access_token"
        )
        .is_none(),
        "a refresh token's hash must not be found as an access token"
    );
}

/// A grant stored with its authorization code: `find_code` returns the code
/// (redirect URI, PKCE challenge and all) and the grant exactly as stored,
/// not redeemed.
pub async fn create_grant_with_code<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let client = register_client(&store, "client").await;
    let issued = Issued::code(&client, now()).create(&store).await;
    let mut plain = Issued::code(&client, now());
    // A code whose request named no redirect URI and carried no challenge.
    if let Some(code) = plain.code.as_mut() {
        code.redirect_uri_in_request = false;
        code.challenge = None;
    }
    let plain = plain.create(&store).await;

    for issued in [issued, plain] {
        assert_eq!(
            ok(store.find_code(&issued.code_hash()).await, "find_code"),
            Some(FoundCode {
                code: issued.code.clone().unwrap(),
                grant: issued.grant.clone(),
                redeemed: false,
            }),
            "find_code must return the code and its grant exactly as stored, unredeemed"
        );
        assert!(
            ok(
                store.find_access_token(&issued.code_hash()).await,
                "find_access_token"
            )
            .is_none(),
            "a code's hash must not be found as an access token"
        );
    }
}

/// Lookups of hashes never stored return `None`, in an empty store and in
/// one holding records.
pub async fn unknown_hashes_are_not_found<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let check = |when: &'static str| {
        let store = store.clone();
        async move {
            let unknown = hash();
            assert!(
                ok(store.find_access_token(&unknown).await, "find_access_token").is_none(),
                "find_access_token of an unknown hash must return None ({when})"
            );
            assert!(
                ok(
                    store.find_refresh_token(&unknown).await,
                    "find_refresh_token"
                )
                .is_none(),
                "find_refresh_token of an unknown hash must return None ({when})"
            );
            assert!(
                ok(store.find_code(&unknown).await, "find_code").is_none(),
                "find_code of an unknown hash must return None ({when})"
            );
            assert!(
                ok(store.find_pending(&unknown).await, "find_pending").is_none(),
                "find_pending of an unknown hash must return None ({when})"
            );
            assert!(
                ok(
                    store.find_device_authorization(&unknown).await,
                    "find_device_authorization"
                )
                .is_none(),
                "find_device_authorization of an unknown hash must return None ({when})"
            );
        }
    };
    check("empty store").await;
    let client = register_client(&store, "client").await;
    Issued::access_and_refresh(&client, now())
        .create(&store)
        .await;
    Issued::code(&client, now()).create(&store).await;
    ok(
        store.save_pending(pending(&client, now())).await,
        "save_pending",
    );
    check("store holding records").await;
}
