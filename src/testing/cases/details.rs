//! Rich authorization requests (RFC 9396): a grant's authorization details
//! are kept exactly, whichever secret finds the grant.

use crate::store::{AuthorizationCodeStore, FoundCode, FoundRefreshToken, GrantStore};
use crate::testing::fixtures::{
    Issued, assert_access_as_stored, authorization_details, client_id, now, ok,
};

/// A grant with authorization details, stored with an access token and a
/// refresh token: both lookups return the grant with its details exactly as
/// stored (RFC 9396 §2: they are what its tokens carry).
pub async fn a_grant_keeps_its_authorization_details<S: GrantStore + Clone>(store: S) {
    let client = client_id("client");
    let mut issued = Issued::access_and_refresh(&client, now());
    issued.grant.authorization_details = authorization_details();
    let issued = issued.create(&store).await;
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
        "find_refresh_token must return the grant with its authorization details as stored"
    );
}

/// A code grant with authorization details: `find_code` returns the grant
/// with its details exactly as stored.
pub async fn a_code_grant_keeps_its_authorization_details<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let client = client_id("client");
    let mut issued = Issued::code(&client, now());
    issued.grant.authorization_details = authorization_details();
    let issued = issued.create_code(&store).await;
    assert_eq!(
        ok(store.find_code(&issued.code_hash()).await, "find_code"),
        Some(FoundCode {
            code: issued.code.clone().unwrap(),
            grant: issued.grant.clone(),
            redeemed: false,
        }),
        "find_code must return the grant with its authorization details as stored"
    );
}
