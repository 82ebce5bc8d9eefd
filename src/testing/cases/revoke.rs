//! Revocation: of a grant, of one access token, of every grant of a client.

use crate::client::ClientRegistry;
use crate::store::{GrantId, TokenStore};
use crate::testing::fixtures::{
    Issued, Lineage, access_found, assert_access_as_stored, code_found, device, hash, now, ok,
    pending, refresh_found, register_client,
};

/// `revoke_grant` returns `true` for a stored grant, and afterwards none of
/// its codes, access tokens or refresh tokens (current or rotated out) is
/// found; other grants, of the same client or another, are untouched. It
/// returns `false` for a grant already revoked or never stored.
pub async fn revoke_grant_kills_everything_of_the_grant<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let t = now();
    let client = register_client(&store, "client").await;
    let other = register_client(&store, "other-client").await;
    let doomed = Lineage::create(&store, &client, t).await;
    let sibling = Lineage::create(&store, &client, t).await;
    let stranger = Lineage::create(&store, &other, t).await;
    let sibling_issued = Issued::access_and_refresh(&client, t).create(&store).await;

    assert!(
        ok(
            store.revoke_grant(&doomed.issued.grant.id).await,
            "revoke_grant"
        ),
        "revoke_grant of a stored grant must return true"
    );
    assert!(
        !doomed.anything_found(&store).await,
        "after revoke_grant, no code, access token or refresh token (current or rotated out) \
         of the grant may be found"
    );
    assert!(
        sibling.all_found(&store).await && stranger.all_found(&store).await,
        "revoke_grant must leave the other grants' codes and tokens as they were"
    );
    assert!(
        access_found(&store, &sibling_issued.access_hash()).await
            && refresh_found(&store, &sibling_issued.refresh_hash())
                .await
                .is_some_and(|r| r.current),
        "revoke_grant must leave the other grants' tokens as they were"
    );
    assert!(
        !ok(
            store.revoke_grant(&doomed.issued.grant.id).await,
            "revoke_grant"
        ),
        "revoke_grant of a grant already revoked must return false"
    );
    assert!(
        !ok(
            store.revoke_grant(&GrantId::generate()).await,
            "revoke_grant"
        ),
        "revoke_grant of a grant never stored must return false"
    );
    assert!(
        sibling.all_found(&store).await,
        "revoke_grant of an unknown grant must change nothing"
    );
}

/// `revoke_access_token` revokes that access token and nothing else: the
/// grant's other access tokens, its refresh tokens and its code stay as they
/// were. It returns `false`, changing nothing, for a hash already revoked,
/// never stored, or held by a refresh token or a code.
pub async fn revoke_access_token_revokes_only_that_token<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let t = now();
    let client = register_client(&store, "client").await;
    let lineage = Lineage::create(&store, &client, t).await;
    let other = Lineage::create(&store, &client, t).await;

    assert!(
        ok(
            store.revoke_access_token(&lineage.first_access.hash).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a stored access token must return true"
    );
    assert!(
        !access_found(&store, &lineage.first_access.hash).await,
        "after revoke_access_token, find_access_token must return None for the token"
    );
    let grant = &lineage.issued.grant;
    assert_eq!(
        ok(
            store.find_access_token(&lineage.access.hash).await,
            "find_access_token"
        ),
        Some((lineage.access.clone(), grant.clone())),
        "revoke_access_token must leave the grant's other access tokens"
    );
    assert!(
        refresh_found(&store, &lineage.refresh.hash)
            .await
            .is_some_and(|r| r.current && r.record == lineage.refresh),
        "revoke_access_token must leave the grant's refresh token current"
    );
    assert!(
        refresh_found(&store, &lineage.first_refresh.hash)
            .await
            .is_some_and(|r| !r.current),
        "revoke_access_token must leave the grant's rotated-out refresh token findable"
    );
    assert!(
        ok(
            store.find_code(&lineage.issued.code_hash()).await,
            "find_code"
        )
        .is_some_and(|c| c.redeemed),
        "revoke_access_token must leave the grant's redeemed code findable"
    );
    assert!(
        other.all_found(&store).await,
        "revoke_access_token must leave other grants as they were"
    );

    assert!(
        !ok(
            store.revoke_access_token(&lineage.first_access.hash).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a token already revoked must return false"
    );
    assert!(
        !ok(
            store.revoke_access_token(&hash()).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a hash never stored must return false"
    );
    assert!(
        !ok(
            store.revoke_access_token(&lineage.refresh.hash).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a refresh token's hash must return false"
    );
    assert!(
        !ok(
            store.revoke_access_token(&lineage.issued.code_hash()).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a code's hash must return false"
    );
    assert!(
        refresh_found(&store, &lineage.refresh.hash)
            .await
            .is_some_and(|r| r.current)
            && code_found(&store, &lineage.issued.code_hash()).await,
        "revoke_access_token of a refresh token's or a code's hash must leave it"
    );
}

/// `revoke_client_grants` revokes every grant of the client — with their
/// codes, access and refresh tokens — and drops its pending requests and device authorizations, and
/// returns how many grants went; another client's grants and pending requests
/// stay.
pub async fn revoke_client_grants_spares_other_clients<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let t = now();
    let doomed = register_client(&store, "doomed").await;
    let spared = register_client(&store, "spared").await;
    let lineage = Lineage::create(&store, &doomed, t).await;
    let with_access = Issued::access_and_refresh(&doomed, t).create(&store).await;
    let with_code = Issued::code(&doomed, t).create(&store).await;
    let doomed_pending = [pending(&doomed, t), pending(&doomed, t)];
    for p in &doomed_pending {
        ok(store.save_pending(p.clone()).await, "save_pending");
    }
    let spared_lineage = Lineage::create(&store, &spared, t).await;
    let spared_code = Issued::code(&spared, t).create(&store).await;
    let spared_pending = pending(&spared, t);
    ok(
        store.save_pending(spared_pending.clone()).await,
        "save_pending",
    );
    let doomed_device = device(&doomed, t);
    let spared_device = device(&spared, t);
    for d in [&doomed_device, &spared_device] {
        ok(
            store.save_device_authorization(d.clone()).await,
            "save_device_authorization",
        );
    }

    let revoked = ok(
        store.revoke_client_grants(&doomed).await,
        "revoke_client_grants",
    );
    assert_eq!(
        revoked, 3,
        "revoke_client_grants must return how many grants of the client went"
    );
    assert!(
        !lineage.anything_found(&store).await
            && !access_found(&store, &with_access.access_hash()).await
            && refresh_found(&store, &with_access.refresh_hash())
                .await
                .is_none()
            && !code_found(&store, &with_code.code_hash()).await,
        "after revoke_client_grants, no code, access token or refresh token of the client's \
         grants may be found"
    );
    for p in &doomed_pending {
        assert!(
            ok(store.find_pending(&p.hash).await, "find_pending").is_none(),
            "after revoke_client_grants, the client's pending requests must be gone"
        );
    }
    assert!(
        spared_lineage.all_found(&store).await
            && ok(store.find_code(&spared_code.code_hash()).await, "find_code")
                .is_some_and(|c| !c.redeemed),
        "revoke_client_grants must leave other clients' grants as they were"
    );
    assert_eq!(
        ok(
            store.find_pending(&spared_pending.hash).await,
            "find_pending"
        ),
        Some(spared_pending),
        "revoke_client_grants must leave other clients' pending requests"
    );
    assert!(
        ok(
            store
                .find_device_authorization(&doomed_device.user_code_hash)
                .await,
            "find_device_authorization"
        )
        .is_none(),
        "after revoke_client_grants, the client's device authorizations must be gone: \
         a device code approved but not collected must not outlive its client"
    );
    assert!(
        ok(
            store
                .find_device_authorization(&spared_device.user_code_hash)
                .await,
            "find_device_authorization"
        )
        .is_some(),
        "revoke_client_grants must leave other clients' device authorizations"
    );
    assert_eq!(
        ok(
            store.revoke_client_grants(&doomed).await,
            "revoke_client_grants"
        ),
        0,
        "revoke_client_grants of a client with no grants left must return 0"
    );
}

/// A grant whose only secret is its first access token, with the grant's
/// scope and lifetime (client credentials), keeps every revocation contract:
/// `find_access_token` returns both as stored; `revoke_access_token` leaves
/// the grant, so `revoke_grant` still finds it; `revoke_grant` kills the
/// token; `revoke_client_grants` counts the grant.
pub async fn a_grant_of_one_access_token_is_revoked_like_any<
    S: TokenStore + ClientRegistry + Clone,
>(
    store: S,
) {
    let t = now();
    let client = register_client(&store, "client").await;
    let token_first = Issued::single_access(&client, t).create(&store).await;
    let grant_first = Issued::single_access(&client, t).create(&store).await;
    let by_client = Issued::single_access(&client, t).create(&store).await;

    for issued in [&token_first, &grant_first, &by_client] {
        assert_access_as_stored(&store, issued).await;
    }

    assert!(
        ok(
            store.revoke_access_token(&token_first.access_hash()).await,
            "revoke_access_token"
        ),
        "revoke_access_token of a stored access token must return true"
    );
    assert!(
        !access_found(&store, &token_first.access_hash()).await,
        "after revoke_access_token, find_access_token must return None for the token"
    );
    assert!(
        ok(
            store.revoke_grant(&token_first.grant.id).await,
            "revoke_grant"
        ),
        "revoke_access_token must leave the grant: revoke_grant must still find it"
    );

    assert!(
        ok(
            store.revoke_grant(&grant_first.grant.id).await,
            "revoke_grant"
        ),
        "revoke_grant of a stored grant must return true"
    );
    assert!(
        !access_found(&store, &grant_first.access_hash()).await,
        "after revoke_grant, the grant's access token must not be found"
    );
    assert!(
        !ok(
            store.revoke_grant(&grant_first.grant.id).await,
            "revoke_grant"
        ),
        "revoke_grant of a grant already revoked must return false"
    );

    assert!(
        access_found(&store, &by_client.access_hash()).await,
        "revoking other grants must leave this one"
    );
    assert_eq!(
        ok(
            store.revoke_client_grants(&client).await,
            "revoke_client_grants"
        ),
        1,
        "revoke_client_grants must count a grant of one access token"
    );
    assert!(
        !access_found(&store, &by_client.access_hash()).await,
        "after revoke_client_grants, the client's access tokens must not be found"
    );
}
