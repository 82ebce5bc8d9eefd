//! Pushed authorization requests (RFC 9126): taken once, by the client that
//! pushed them, before they expire.

use crate::client::ClientId;
use crate::store::{AuthorizationCodeStore, PushedAuthorizationRecord};
use crate::testing::fixtures::{
    HOUR, MINUTE, RACERS, ROUNDS, Racer, SECOND, client_id, hash, now, ok, race,
};
use std::time::SystemTime;

fn pushed(client: &ClientId, at: SystemTime) -> PushedAuthorizationRecord {
    PushedAuthorizationRecord {
        hash: hash(),
        client_id: client.clone(),
        parameters: "response_type=code&client_id=client&scope=read+write&state=xyz%3D".to_owned(),
        created_at: at,
        expires_at: at + MINUTE,
    }
}

/// `take_pushed` returns a pushed request exactly as saved, once, to the
/// client that pushed it: another client's take leaves it in place, a
/// second take gets `None`, and other requests stay.
pub async fn pushed_take_once_by_its_client<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let owner = client_id("client");
    let other = client_id("other-client");
    let first = pushed(&owner, t);
    let second = pushed(&owner, t);
    ok(store.save_pushed(first.clone()).await, "save_pushed");
    ok(store.save_pushed(second.clone()).await, "save_pushed");

    assert_eq!(
        ok(
            store.take_pushed(&first.hash, &other, t).await,
            "take_pushed"
        ),
        None,
        "take_pushed by a client other than the one that pushed must return None"
    );
    assert_eq!(
        ok(
            store.take_pushed(&first.hash, &owner, t).await,
            "take_pushed"
        ),
        Some(first.clone()),
        "take_pushed by the pushing client must return the request exactly as saved, even \
         after another client tried to take it"
    );
    assert_eq!(
        ok(
            store.take_pushed(&first.hash, &owner, t).await,
            "take_pushed"
        ),
        None,
        "take_pushed of a request already taken must return None"
    );
    assert_eq!(
        ok(store.take_pushed(&hash(), &owner, t).await, "take_pushed"),
        None,
        "take_pushed of an unknown hash must return None"
    );
    assert_eq!(
        ok(
            store.take_pushed(&second.hash, &owner, t).await,
            "take_pushed"
        ),
        Some(second),
        "take_pushed must leave other requests"
    );
}

/// `take_pushed` never returns a request at or after its expiry, and
/// `purge_expired_codes` deletes expired pushed requests (counting them) but
/// not live ones; `revoke_client_pending` drops the client's pushed requests.
pub async fn pushed_requests_expire_and_go_with_their_client<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let t = now();
    let owner = client_id("client");
    let other = client_id("other-client");
    let expiring = pushed(&owner, t);
    ok(store.save_pushed(expiring.clone()).await, "save_pushed");
    assert_eq!(
        ok(
            store
                .take_pushed(&expiring.hash, &owner, expiring.expires_at)
                .await,
            "take_pushed"
        ),
        None,
        "take_pushed at the request's expiry must return None"
    );

    let dead = pushed(&owner, t - HOUR);
    let live = pushed(&owner, t);
    ok(store.save_pushed(dead.clone()).await, "save_pushed");
    ok(store.save_pushed(live.clone()).await, "save_pushed");
    let purged = ok(store.purge_expired_codes(t).await, "purge_expired_codes");
    assert_eq!(
        purged, 1,
        "purge_expired_codes must delete exactly the one expired pushed request (the one at \
         its expiry was never due: it expires after now)"
    );
    assert_eq!(
        ok(
            store.take_pushed(&dead.hash, &owner, t - HOUR).await,
            "take_pushed"
        ),
        None,
        "purge_expired_codes must delete an expired pushed request"
    );

    let others = pushed(&other, t);
    ok(store.save_pushed(others.clone()).await, "save_pushed");
    ok(
        store.revoke_client_pending(&owner).await,
        "revoke_client_pending",
    );
    assert_eq!(
        ok(
            store.take_pushed(&live.hash, &owner, t).await,
            "take_pushed"
        ),
        None,
        "revoke_client_pending must drop the client's pushed requests"
    );
    assert_eq!(
        ok(
            store.take_pushed(&expiring.hash, &owner, t).await,
            "take_pushed"
        ),
        None,
        "revoke_client_pending must drop the client's pushed requests"
    );
    assert_eq!(
        ok(
            store.take_pushed(&others.hash, &other, t + SECOND).await,
            "take_pushed"
        ),
        Some(others),
        "revoke_client_pending must spare other clients' pushed requests"
    );
}

/// Of 32 concurrent `take_pushed` calls for one `request_uri`, exactly one
/// gets it, as saved (RFC 9126 §4: one-time use).
pub async fn concurrent_takes_of_a_pushed_request_take_once<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let client = client_id("client");
    for _ in 0..ROUNDS {
        let t = now();
        let saved = pushed(&client, t);
        ok(store.save_pushed(saved.clone()).await, "save_pushed");
        let tasks = (0..RACERS)
            .map(|_| {
                let (store, hash, client) = (store.clone(), saved.hash, client.clone());
                Box::pin(
                    async move { ok(store.take_pushed(&hash, &client, t).await, "take_pushed") },
                ) as Racer<_>
            })
            .collect();
        let taken: Vec<_> = race(tasks).await.into_iter().flatten().collect();
        assert_eq!(
            taken.len(),
            1,
            "of {RACERS} concurrent take_pushed calls for one request exactly one must get it; \
             {} did",
            taken.len()
        );
        assert_eq!(
            taken.first(),
            Some(&saved),
            "take_pushed must return the request as saved"
        );
    }
}
