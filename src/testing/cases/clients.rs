//! [`ClientRegistry`]: unique identifiers, clients returned as stored, and the
//! compare-and-swap on the registration access token (RFC 7592 §3).

use crate::client::{Client, ClientRegistry};
use crate::store::StoreError;
use crate::testing::fixtures::{hash, managed_client, ok, web_client};

async fn found<S: ClientRegistry>(store: &S, id: &str) -> Option<Client> {
    ok(store.find_client(id).await, "find_client").map(|client| (*client).clone())
}

/// `find_client` returns an inserted client exactly as inserted (secret
/// hash, metadata, registration access token hash and all), and `None` for an
/// identifier never inserted.
pub async fn client_insert_and_find<S: ClientRegistry + Clone>(store: S) {
    let web = web_client("web-client");
    let managed = managed_client("managed-client", hash(), "Managed");
    ok(store.insert_client(web.clone()).await, "insert_client");
    ok(store.insert_client(managed.clone()).await, "insert_client");
    assert_eq!(
        found(&store, "web-client").await,
        Some(web),
        "find_client must return the client as inserted"
    );
    assert_eq!(
        found(&store, "managed-client").await,
        Some(managed),
        "find_client must return the client as inserted, with its registration access token hash"
    );
    assert_eq!(
        found(&store, "unknown-client").await,
        None,
        "find_client must return None for an identifier never inserted"
    );
    assert_eq!(
        found(&store, "WEB-CLIENT").await,
        None,
        "client identifiers are case-sensitive (RFC 6749 §2.2): find_client(\"WEB-CLIENT\") \
         must not find \"web-client\""
    );
}

/// `insert_client` of an identifier already present fails with
/// [`StoreError::Conflict`] and leaves the stored client unchanged.
pub async fn client_insert_conflict_keeps_the_stored_client<S: ClientRegistry + Clone>(store: S) {
    let first = managed_client("taken", hash(), "First");
    ok(store.insert_client(first.clone()).await, "insert_client");
    let second = managed_client("taken", hash(), "Second");
    let result = store.insert_client(second).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "insert_client of an identifier already present must fail with StoreError::Conflict, \
         got {result:?}"
    );
    assert_eq!(
        found(&store, "taken").await,
        Some(first),
        "a conflicting insert_client must leave the stored client unchanged"
    );
}

/// `update_client` replaces the stored client: unconditionally with `None`,
/// and with `Some(token)` only if the stored registration access token hash
/// equals it; otherwise (and for an unknown client) it returns `false` and
/// changes nothing.
pub async fn client_update_compares_and_swaps<S: ClientRegistry + Clone>(store: S) {
    let token = hash();
    let original = managed_client("managed", token, "Original");
    ok(store.insert_client(original.clone()).await, "insert_client");

    let wrong = managed_client("managed", hash(), "By the wrong token");
    assert!(
        !ok(
            store.update_client(wrong, Some(&hash())).await,
            "update_client"
        ),
        "update_client with a token other than the stored one must return false"
    );
    assert_eq!(
        found(&store, "managed").await,
        Some(original.clone()),
        "update_client with the wrong token must change nothing"
    );

    let next_token = hash();
    let rotated = managed_client("managed", next_token, "Rotated");
    assert!(
        ok(
            store.update_client(rotated.clone(), Some(&token)).await,
            "update_client"
        ),
        "update_client with the stored token must return true"
    );
    assert_eq!(
        found(&store, "managed").await,
        Some(rotated.clone()),
        "update_client must replace the stored client"
    );
    let stale = managed_client("managed", hash(), "By the old token");
    assert!(
        !ok(
            store.update_client(stale, Some(&token)).await,
            "update_client"
        ),
        "update_client with the token the last update replaced must return false"
    );
    assert_eq!(found(&store, "managed").await, Some(rotated));

    let unconditional = managed_client("managed", hash(), "By the administrator");
    assert!(
        ok(
            store.update_client(unconditional.clone(), None).await,
            "update_client"
        ),
        "update_client without an expected token must replace the stored client"
    );
    assert_eq!(found(&store, "managed").await, Some(unconditional));

    let web = web_client("static");
    ok(store.insert_client(web.clone()).await, "insert_client");
    assert!(
        !ok(
            store
                .update_client(web_client("static"), Some(&token))
                .await,
            "update_client"
        ),
        "update_client with an expected token must return false for a client that has none"
    );
    assert_eq!(found(&store, "static").await, Some(web));

    assert!(
        !ok(
            store.update_client(web_client("unknown"), None).await,
            "update_client"
        ),
        "update_client of an unknown client must return false"
    );
    assert_eq!(
        found(&store, "unknown").await,
        None,
        "update_client of an unknown client must not insert it"
    );
}

/// `delete_client` removes the client, so `find_client` no longer finds it:
/// unconditionally with `None`, with `Some(token)` only if the stored
/// registration access token hash equals it; otherwise (and for an unknown
/// client) it returns `false` and changes nothing.
pub async fn client_delete_compares_and_swaps<S: ClientRegistry + Clone>(store: S) {
    let token = hash();
    let managed = managed_client("managed", token, "Managed");
    ok(store.insert_client(managed.clone()).await, "insert_client");
    let web = web_client("static");
    ok(store.insert_client(web.clone()).await, "insert_client");

    assert!(
        !ok(
            store.delete_client("managed", Some(&hash())).await,
            "delete_client"
        ),
        "delete_client with a token other than the stored one must return false"
    );
    assert_eq!(
        found(&store, "managed").await,
        Some(managed),
        "delete_client with the wrong token must leave the client"
    );
    assert!(
        !ok(
            store.delete_client("static", Some(&token)).await,
            "delete_client"
        ),
        "delete_client with an expected token must return false for a client that has none"
    );
    assert!(
        ok(
            store.delete_client("managed", Some(&token)).await,
            "delete_client"
        ),
        "delete_client with the stored token must return true"
    );
    assert_eq!(
        found(&store, "managed").await,
        None,
        "after delete_client, find_client must return None"
    );
    assert!(
        !ok(
            store.delete_client("managed", Some(&token)).await,
            "delete_client"
        ),
        "delete_client of a client already deleted must return false"
    );
    assert!(
        !ok(store.delete_client("unknown", None).await, "delete_client"),
        "delete_client of an unknown client must return false"
    );
    assert!(
        ok(store.delete_client("static", None).await, "delete_client"),
        "delete_client without an expected token must remove the client"
    );
    assert_eq!(found(&store, "static").await, None);

    // The identifier is free again.
    ok(
        store.insert_client(web.clone()).await,
        "insert_client of a deleted client's identifier",
    );
    assert_eq!(found(&store, "static").await, Some(web));
}
