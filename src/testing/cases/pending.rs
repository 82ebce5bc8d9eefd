//! Pending authorization requests: kept as saved, decided once.

use crate::store::AuthorizationCodeStore;
use crate::testing::fixtures::{bare_pending, client_id, now, ok, pending};

/// `find_pending` returns a saved request exactly as saved, as often as asked;
/// `take_pending` returns it once and removes it, so a second take and a
/// find return `None`. Other requests stay.
pub async fn pending_save_find_take<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let full = pending(&client, t);
    let bare = bare_pending(&client, t);
    ok(store.save_pending(full.clone()).await, "save_pending");
    ok(store.save_pending(bare.clone()).await, "save_pending");

    for _ in 0..2 {
        assert_eq!(
            ok(store.find_pending(&full.hash).await, "find_pending"),
            Some(full.clone()),
            "find_pending must return the request exactly as saved, without consuming it"
        );
    }
    assert_eq!(
        ok(store.find_pending(&bare.hash).await, "find_pending"),
        Some(bare.clone()),
        "find_pending must return a request without state, scope or challenge exactly as saved"
    );
    assert_eq!(
        ok(store.take_pending(&full.hash).await, "take_pending"),
        Some(full.clone()),
        "take_pending must return the request exactly as saved"
    );
    assert_eq!(
        ok(store.take_pending(&full.hash).await, "take_pending"),
        None,
        "take_pending of a request already taken must return None"
    );
    assert_eq!(
        ok(store.find_pending(&full.hash).await, "find_pending"),
        None,
        "find_pending of a request already taken must return None"
    );
    assert_eq!(
        ok(store.find_pending(&bare.hash).await, "find_pending"),
        Some(bare.clone()),
        "take_pending must leave other requests"
    );
    assert_eq!(
        ok(store.take_pending(&bare.hash).await, "take_pending"),
        Some(bare),
        "take_pending must return the request exactly as saved"
    );
}
