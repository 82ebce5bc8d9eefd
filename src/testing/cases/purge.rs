//! The purges, one per store: the dead go, the living stay.

use crate::store::{AuthorizationCodeStore, DeviceAuthorizationStore, GrantStore};
use crate::testing::fixtures::{
    DAY, HOUR, Issued, Lineage, access_found, client_id, code_found, device, now, ok, pending,
    refresh_found,
};

/// `purge_expired(now)` deletes what expired before `now` — grants with
/// their tokens, access and refresh tokens — and the tokens of revoked
/// grants, so none is found afterwards; it returns how many records went (at
/// least one when an expired record was still found before it, at most as
/// many as were dead), and nothing the second time. Live records stay as they
/// were, including rotated-out refresh tokens that have not expired.
pub async fn purge_expired_removes_only_the_dead<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");

    // The living.
    let live = Lineage::of_tokens(&store, &client, t).await;

    // The dead: 10 records at most.
    // A grant that expired, with its tokens (3).
    let expired_grant = Issued::access_and_refresh(&client, t - 2 * DAY)
        .create(&store)
        .await;
    // A live grant whose access and refresh tokens expired (2).
    let expired_tokens = Issued::access_and_refresh(&client, t - 7 * HOUR)
        .create(&store)
        .await;
    // A revoked grant with its two access and two refresh tokens (5).
    let revoked = Lineage::of_tokens(&store, &client, t).await;
    assert!(ok(
        store.revoke_grant(&revoked.issued.grant.id).await,
        "revoke_grant"
    ));
    let dead = 10;

    // Expired records may be found until purged; any still found now must be
    // counted by the purge.
    let still_found = access_found(&store, &expired_grant.access_hash()).await
        || refresh_found(&store, &expired_grant.refresh_hash())
            .await
            .is_some()
        || access_found(&store, &expired_tokens.access_hash()).await
        || refresh_found(&store, &expired_tokens.refresh_hash())
            .await
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
        live.all_found(&store).await,
        "purge_expired must leave live grants and their tokens, including rotated-out \
         refresh tokens that have not expired"
    );
    assert_eq!(
        ok(store.purge_expired(t).await, "purge_expired"),
        0,
        "a second purge_expired at the same time must find nothing left to delete"
    );
}

/// `purge_expired_codes(now)` deletes the codes and pending requests that
/// expired before `now`, and the codes of revoked grants, so none is found
/// afterwards; it returns how many went (at least one when an expired record
/// was still found before it, at most as many as were dead), and nothing the
/// second time. Live records stay as they were, including redeemed codes
/// that have not expired, and their grants' tokens.
pub async fn purge_expired_codes_removes_only_the_dead<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let t = now();
    let client = client_id("client");

    // The living.
    let live = Lineage::create(&store, &client, t).await;
    let live_pending = pending(&client, t);
    ok(
        store.save_pending(live_pending.clone()).await,
        "save_pending",
    );

    // The dead: 3 records at most.
    // A live grant whose code expired (1).
    let expired_code = Issued::code(&client, t - 2 * HOUR)
        .create_code(&store)
        .await;
    // A revoked grant's code (1).
    let revoked = Lineage::create(&store, &client, t).await;
    assert!(ok(
        store.revoke_grant(&revoked.issued.grant.id).await,
        "revoke_grant"
    ));
    // A pending request that expired (1).
    let expired_pending = pending(&client, t - 2 * HOUR);
    ok(
        store.save_pending(expired_pending.clone()).await,
        "save_pending",
    );
    let dead = 3;

    // Expired records may be found until purged; any still found now must be
    // counted by the purge.
    let still_found = code_found(&store, &expired_code.code_hash()).await
        || ok(
            store.find_pending(&expired_pending.hash).await,
            "find_pending",
        )
        .is_some();

    let purged = ok(store.purge_expired_codes(t).await, "purge_expired_codes");
    assert!(
        purged <= dead,
        "purge_expired_codes must count the records it deleted: {purged} returned, but at most \
         {dead} were dead"
    );
    assert!(
        !still_found || purged > 0,
        "purge_expired_codes deleted expired records that were still found, but returned 0"
    );

    assert!(
        !code_found(&store, &expired_code.code_hash()).await,
        "after purge_expired_codes, an expired code must not be found"
    );
    assert!(
        !revoked.anything_or_code_found(&store).await,
        "after purge_expired_codes, nothing of a revoked grant may be found"
    );
    assert!(
        ok(
            store.find_pending(&expired_pending.hash).await,
            "find_pending"
        )
        .is_none(),
        "after purge_expired_codes, an expired pending request must not be found"
    );

    assert!(
        live.all_and_code_found(&store).await,
        "purge_expired_codes must leave live grants and their tokens, including redeemed codes \
         that have not expired"
    );
    assert_eq!(
        ok(store.find_pending(&live_pending.hash).await, "find_pending"),
        Some(live_pending),
        "purge_expired_codes must leave live pending requests"
    );
    assert_eq!(
        ok(store.purge_expired_codes(t).await, "purge_expired_codes"),
        0,
        "a second purge_expired_codes at the same time must find nothing left to delete"
    );
}

/// `purge_expired_device_authorizations(now)` deletes the device
/// authorizations that expired before `now`, so none is found afterwards; it
/// returns how many went (at least one when an expired one was still found
/// before it, at most as many as were dead), and nothing the second time.
/// Live ones stay as they were.
pub async fn purge_expired_device_authorizations_removes_only_the_dead<
    S: DeviceAuthorizationStore + Clone,
>(
    store: S,
) {
    let t = now();
    let client = client_id("client");

    let live_device = device(&client, t);
    ok(
        store.save_device_authorization(live_device.clone()).await,
        "save_device_authorization",
    );
    // The dead: 1.
    let expired_device = device(&client, t - 2 * HOUR);
    ok(
        store
            .save_device_authorization(expired_device.clone())
            .await,
        "save_device_authorization",
    );
    let dead = 1;

    let still_found = ok(
        store
            .find_device_authorization(&expired_device.user_code_hash)
            .await,
        "find_device_authorization",
    )
    .is_some();

    let purged = ok(
        store.purge_expired_device_authorizations(t).await,
        "purge_expired_device_authorizations",
    );
    assert!(
        purged <= dead,
        "purge_expired_device_authorizations must count the records it deleted: {purged} \
         returned, but at most {dead} were dead"
    );
    assert!(
        !still_found || purged > 0,
        "purge_expired_device_authorizations deleted expired records that were still found, \
         but returned 0"
    );
    assert!(
        ok(
            store
                .find_device_authorization(&expired_device.user_code_hash)
                .await,
            "find_device_authorization"
        )
        .is_none(),
        "after purge_expired_device_authorizations, an expired device authorization must not \
         be found"
    );
    assert_eq!(
        ok(
            store
                .find_device_authorization(&live_device.user_code_hash)
                .await,
            "find_device_authorization"
        ),
        Some(live_device),
        "purge_expired_device_authorizations must leave live device authorizations"
    );
    assert_eq!(
        ok(
            store.purge_expired_device_authorizations(t).await,
            "purge_expired_device_authorizations"
        ),
        0,
        "a second purge_expired_device_authorizations at the same time must find nothing left \
         to delete"
    );
}
