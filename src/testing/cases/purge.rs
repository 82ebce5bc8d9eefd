//! `purge_expired`: the dead go, the living stay.

use crate::client::ClientRegistry;
use crate::store::TokenStore;
use crate::testing::fixtures::{
    DAY, HOUR, Issued, Lineage, access_found, code_found, device, now, ok, pending, refresh_found,
    register_client,
};

/// `purge_expired(now)` deletes what expired before `now` — grants with
/// their tokens, access and refresh tokens, codes, pending requests, device
/// authorizations — and the tokens of revoked grants, so none is found
/// afterwards; it returns how many records went (at least one when an
/// expired record was still found before it, at most as many as were dead),
/// and nothing the second time. Live records stay as they were, including
/// rotated-out refresh tokens and redeemed codes that have not expired.
pub async fn purge_expired_removes_only_the_dead<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "client").await;

    // The living.
    let live = Lineage::create(&store, &client, t).await;
    let live_pending = pending(&client, t);
    ok(
        store.save_pending(live_pending.clone()).await,
        "save_pending",
    );
    let live_device = device(&client, t);
    ok(
        store.save_device_authorization(live_device.clone()).await,
        "save_device_authorization",
    );

    // The dead: 14 records at most.
    // A grant that expired, with its tokens (3).
    let expired_grant = Issued::access_and_refresh(&client, t - 2 * DAY)
        .create(&store)
        .await;
    // A live grant whose code expired (1).
    let expired_code = Issued::code(&client, t - 2 * HOUR).create(&store).await;
    // A live grant whose access and refresh tokens expired (2).
    let expired_tokens = Issued::access_and_refresh(&client, t - 7 * HOUR)
        .create(&store)
        .await;
    // A revoked grant, its code, two access and two refresh tokens (6).
    let revoked = Lineage::create(&store, &client, t).await;
    assert!(ok(
        store.revoke_grant(&revoked.issued.grant.id).await,
        "revoke_grant"
    ));
    // A pending request and a device authorization that expired (2).
    let expired_pending = pending(&client, t - 2 * HOUR);
    ok(
        store.save_pending(expired_pending.clone()).await,
        "save_pending",
    );
    let expired_device = device(&client, t - 2 * HOUR);
    ok(
        store
            .save_device_authorization(expired_device.clone())
            .await,
        "save_device_authorization",
    );
    let dead = 14;

    // Expired records may be found until purged; any still found now must be
    // counted by the purge.
    let still_found = code_found(&store, &expired_code.code_hash()).await
        || ok(
            store.find_pending(&expired_pending.hash).await,
            "find_pending",
        )
        .is_some()
        || ok(
            store
                .find_device_authorization(&expired_device.user_code_hash)
                .await,
            "find_device_authorization",
        )
        .is_some();

    let purged = ok(store.purge_expired(t).await, "purge_expired");
    assert!(
        purged <= dead,
        "purge_expired must count the records it deleted: {purged} returned, but at most \
         {dead} were dead"
    );
    assert!(
        !still_found || purged > 0,
        "purge_expired deleted expired records that were still found, but returned 0"
    );

    assert!(
        !access_found(&store, &expired_grant.access_hash()).await
            && refresh_found(&store, &expired_grant.refresh_hash())
                .await
                .is_none(),
        "after purge_expired, the tokens of an expired grant must not be found"
    );
    assert!(
        !code_found(&store, &expired_code.code_hash()).await,
        "after purge_expired, an expired code must not be found"
    );
    assert!(
        !access_found(&store, &expired_tokens.access_hash()).await
            && refresh_found(&store, &expired_tokens.refresh_hash())
                .await
                .is_none(),
        "after purge_expired, expired access and refresh tokens must not be found"
    );
    assert!(
        !revoked.anything_found(&store).await,
        "after purge_expired, nothing of a revoked grant may be found"
    );
    assert!(
        ok(
            store.find_pending(&expired_pending.hash).await,
            "find_pending"
        )
        .is_none(),
        "after purge_expired, an expired pending request must not be found"
    );
    assert!(
        ok(
            store
                .find_device_authorization(&expired_device.user_code_hash)
                .await,
            "find_device_authorization"
        )
        .is_none(),
        "after purge_expired, an expired device authorization must not be found"
    );

    assert!(
        live.all_found(&store).await,
        "purge_expired must leave live grants and their tokens, including rotated-out \
         refresh tokens and redeemed codes that have not expired"
    );
    assert_eq!(
        ok(store.find_pending(&live_pending.hash).await, "find_pending"),
        Some(live_pending),
        "purge_expired must leave live pending requests"
    );
    assert_eq!(
        ok(
            store
                .find_device_authorization(&live_device.user_code_hash)
                .await,
            "find_device_authorization"
        ),
        Some(live_device),
        "purge_expired must leave live device authorizations"
    );
    assert_eq!(
        ok(store.purge_expired(t).await, "purge_expired"),
        0,
        "a second purge_expired at the same time must find nothing left to delete"
    );
}
