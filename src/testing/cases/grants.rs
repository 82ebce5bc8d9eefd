//! `create_grant`, `create_code_grant` and the lookups: what is stored is
//! found, exactly.

use crate::store::{
    AuthorizationCodeStore, DeviceAuthorizationStore, FoundCode, FoundRefreshToken, GrantStore,
};
use crate::testing::fixtures::{
    Issued, assert_access_as_stored, client_id, device, hash, now, ok, pending,
};

/// A grant stored with an access token: `find_access_token` returns the token
/// and the grant exactly as stored, and the grant has no refresh token.
pub async fn create_grant_with_access_token<S: GrantStore + Clone>(store: S) {
    let client = client_id("client");
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
    }
}

/// A grant stored with an access token and a refresh token: both are found
/// exactly as stored, with the grant, and the refresh token is current.
pub async fn create_grant_with_refresh_token<S: GrantStore + Clone>(store: S) {
    let client = client_id("client");
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

/// A grant stored with its authorization code (`create_code_grant`):
/// `find_code` returns the code (redirect URI, PKCE challenge and all) and
/// the grant exactly as stored, not redeemed. A code's hash is not found as
/// an access token, nor an access token's as a code.
pub async fn create_grant_with_code<S: AuthorizationCodeStore + Clone>(store: S) {
    let client = client_id("client");
    let issued = Issued::code(&client, now()).create_code(&store).await;
    let mut plain = Issued::code(&client, now());
    // A code whose request named no redirect URI and carried no challenge.
    if let Some(code) = plain.code.as_mut() {
        code.redirect_uri_in_request = false;
        code.challenge = None;
    }
    let plain = plain.create_code(&store).await;

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

    let with_access = Issued::access(&client, now()).create(&store).await;
    assert!(
        ok(
            store.find_code(&with_access.access_hash()).await,
            "find_code"
        )
        .is_none(),
        "an access token's hash must not be found as a code"
    );
}

/// Lookups of hashes never stored return `None`, in an empty store and in
/// one holding records.
pub async fn unknown_hashes_are_not_found<S: GrantStore + Clone>(store: S) {
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
        }
    };
    check("empty store").await;
    Issued::access_and_refresh(&client_id("client"), now())
        .create(&store)
        .await;
    check("store holding records").await;
}

/// Lookups of codes and pending requests never stored return `None`, in an
/// empty store and in one holding records.
pub async fn unknown_codes_are_not_found<S: AuthorizationCodeStore + Clone>(store: S) {
    let check = |when: &'static str| {
        let store = store.clone();
        async move {
            let unknown = hash();
            assert!(
                ok(store.find_code(&unknown).await, "find_code").is_none(),
                "find_code of an unknown hash must return None ({when})"
            );
            assert!(
                ok(store.find_pending(&unknown).await, "find_pending").is_none(),
                "find_pending of an unknown hash must return None ({when})"
            );
        }
    };
    check("empty store").await;
    let client = client_id("client");
    Issued::access_and_refresh(&client, now())
        .create(&store)
        .await;
    Issued::code(&client, now()).create_code(&store).await;
    ok(
        store.save_pending(pending(&client, now())).await,
        "save_pending",
    );
    check("store holding records").await;
}

/// `find_device_authorization` of a user code never saved returns `None`, in
/// an empty store and in one holding records.
pub async fn unknown_device_codes_are_not_found<S: DeviceAuthorizationStore + Clone>(store: S) {
    let check = |when: &'static str| {
        let store = store.clone();
        async move {
            assert!(
                ok(
                    store.find_device_authorization(&hash()).await,
                    "find_device_authorization"
                )
                .is_none(),
                "find_device_authorization of an unknown hash must return None ({when})"
            );
        }
    };
    check("empty store").await;
    let client = client_id("device-client");
    Issued::access_and_refresh(&client, now())
        .create(&store)
        .await;
    ok(
        store
            .save_device_authorization(device(&client, now()))
            .await,
        "save_device_authorization",
    );
    check("store holding records").await;
}
