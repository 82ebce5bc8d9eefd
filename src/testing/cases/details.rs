//! Rich authorization requests (RFC 9396): a grant's authorization details
//! are kept exactly, whichever secret finds the grant; an access token
//! carries the subset its token request named (§6.2).

use crate::protocol::AuthorizationDetails;
use crate::store::{
    AuthorizationCodeStore, FoundCode, FoundRefreshToken, GrantStore, Redemption, Rotation,
};
use crate::testing::fixtures::{
    Issued, MINUTE, SECOND, assert_access_as_stored, authorization_details, client_id, now, ok,
    redeem, redemption, rotate, rotation,
};
use crate::token::TokenHash;

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

/// The subset of [`authorization_details`] a token request may name (RFC
/// 9396 §6.2): its second object alone.
fn named_subset() -> AuthorizationDetails {
    let all = authorization_details();
    let second = all.to_json().get(1).cloned().unwrap_or_default();
    AuthorizationDetails::parse(&serde_json::Value::Array(vec![second]).to_string()).unwrap()
}

/// A redemption whose planned access token carries a subset of its grant's
/// authorization details stores the token with exactly that subset; one
/// planning none (`None`) stores the token with all of the grant's (RFC 9396
/// §6.2). The grant keeps all of its own either way.
pub async fn a_redeemed_token_carries_the_planned_authorization_details<
    S: AuthorizationCodeStore + Clone,
>(
    store: S,
) {
    let client = client_id("client");
    let at = now() + 5 * SECOND;
    for subset in [Some(named_subset()), None] {
        let mut issued = Issued::code(&client, now());
        issued.grant.authorization_details = authorization_details();
        let issued = issued.create_code(&store).await;
        let mut redeeming = redemption(&client, at);
        redeeming.access_token = redeeming
            .access_token
            .with_authorization_details(subset.clone());
        assert_eq!(
            redeem(&store, &issued.code_hash(), &redeeming).await,
            Redemption::Redeemed(issued.found_code(false)),
            "a redemption passing every check must be Redeemed"
        );
        assert_token_carries(&store, &redeeming.access_token.hash, subset).await;
    }
}

/// Asserts the access token `hash` is found carrying `subset` of
/// [`authorization_details`], or all of them for `None`, under a grant
/// that keeps all of them.
async fn assert_token_carries<S: GrantStore>(
    store: &S,
    hash: &TokenHash,
    subset: Option<AuthorizationDetails>,
) {
    let (token, grant) = ok(store.find_access_token(hash).await, "find_access_token")
        .expect("the access token a redemption or rotation stored must be found");
    assert_eq!(
        token.authorization_details,
        subset.unwrap_or_else(authorization_details),
        "the access token must carry the planned subset of the grant's authorization details, \
         or all of them when none was planned (RFC 9396 §6.2)"
    );
    assert_eq!(
        grant.authorization_details,
        authorization_details(),
        "the grant must keep all of its authorization details"
    );
}

/// A rotation whose planned access token carries a subset of its grant's
/// authorization details stores the new access token with exactly that
/// subset; one planning none stores it with all of the grant's.
pub async fn a_rotated_token_carries_the_planned_authorization_details<S: GrantStore + Clone>(
    store: S,
) {
    let client = client_id("client");
    let at = now() + MINUTE;
    for subset in [Some(named_subset()), None] {
        let mut issued = Issued::access_and_refresh(&client, now());
        issued.grant.authorization_details = authorization_details();
        let issued = issued.create(&store).await;
        let mut rotating = rotation(&client, at);
        rotating.access_token = rotating
            .access_token
            .with_authorization_details(subset.clone());
        assert!(
            matches!(
                rotate(&store, &issued.refresh_hash(), &rotating).await,
                Rotation::Rotated(_)
            ),
            "a rotation passing every check must be Rotated"
        );
        assert_token_carries(&store, &rotating.access_token.hash, subset).await;
    }
}
