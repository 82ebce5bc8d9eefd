//! [`ClientRegistry`]: unique identifiers, clients returned as stored, and the
//! compare-and-swap on the registration access token (RFC 7592 §3), and
//! registration quotas.

use crate::client::{Client, ClientRegistry, RegistrationQuota};
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

/// A mutual-TLS client's RFC 8705 metadata — its `tls_client_auth_*`
/// subject and `tls_client_certificate_bound_access_tokens` — comes back
/// from `find_client` as inserted.
pub async fn client_mutual_tls_metadata_round_trips<S: ClientRegistry + Clone>(store: S) {
    use crate::client::{AuthMethod, ClientRegistration, TlsClientAuthSubject};
    use crate::protocol::GrantType;
    let subjects = [
        TlsClientAuthSubject::SubjectDn("CN=client.example,O=Example,C=SE".into()),
        TlsClientAuthSubject::SanDns("client.example".into()),
        TlsClientAuthSubject::SanUri("https://client.example/id".into()),
        TlsClientAuthSubject::SanIp(
            std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7).into(),
        ),
        TlsClientAuthSubject::SanEmail("ops@client.example".into()),
    ];
    for (i, subject) in subjects.into_iter().enumerate() {
        let id = format!("mtls-client-{i}");
        let registered = ClientRegistration::web_application()
            .client_id(id.as_str())
            .grant_type(GrantType::CLIENT_CREDENTIALS)
            .auth_method(AuthMethod::TLS_CLIENT_AUTH)
            .tls_client_auth_subject(subject.clone())
            .tls_client_certificate_bound_access_tokens(true)
            .register();
        let Ok(registered) = registered else {
            panic!("the fixture's mTLS client must register: {registered:?}");
        };
        let client = registered.client;
        ok(store.insert_client(client.clone()).await, "insert_client");
        let back = found(&store, &id).await;
        assert_eq!(
            back.as_ref(),
            Some(&client),
            "find_client must return an mTLS client as inserted"
        );
        assert_eq!(
            back.as_ref().and_then(Client::tls_client_auth_subject),
            Some(subject),
            "the tls_client_auth_* subject must survive the store"
        );
        assert!(
            back.is_some_and(|c| c.tls_client_certificate_bound_access_tokens()),
            "tls_client_certificate_bound_access_tokens must survive the store"
        );
    }
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

/// `insert_client_within_quota` stores clients under a registrant while
/// fewer than `max_clients` are stored under it and then returns `false`,
/// storing nothing; registrants are independent, clients inserted with
/// `insert_client` count against none, an update keeps the client's place
/// and a deletion frees it; a conflicting identifier is
/// [`StoreError::Conflict`] and takes no place.
pub async fn client_quota_counts_clients_per_registrant<S: ClientRegistry + Clone>(store: S) {
    let (alice, bob) = (hash(), hash());
    let quota = RegistrationQuota::new(alice, 2);
    let insert = |id: &str, quota: RegistrationQuota| {
        let store = store.clone();
        let client = managed_client(id, hash(), "Quota");
        async move {
            ok(
                store.insert_client_within_quota(client, &quota).await,
                "insert_client_within_quota",
            )
        }
    };
    ok(
        store
            .insert_client(web_client("by-the-administrator"))
            .await,
        "insert_client",
    );
    assert!(
        insert("a1", quota).await,
        "insert_client_within_quota under a registrant with no clients must store the client"
    );
    let taken = store
        .insert_client_within_quota(managed_client("a1", hash(), "Again"), &quota)
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict)),
        "insert_client_within_quota of an identifier already present must fail with \
         StoreError::Conflict, got {taken:?}"
    );
    assert!(
        insert("a2", quota).await,
        "insert_client_within_quota must store up to max_clients clients (clients inserted \
         with insert_client, and conflicting inserts, count against no registrant)"
    );
    assert!(
        !insert("a3", quota).await,
        "insert_client_within_quota must return false once max_clients clients are stored \
         under the registrant"
    );
    assert_eq!(
        found(&store, "a3").await,
        None,
        "an insert_client_within_quota that returned false must store nothing"
    );
    assert!(
        insert("b1", RegistrationQuota::new(bob, 2)).await,
        "registrants are independent: another registrant's clients do not count"
    );
    assert!(
        !insert("a3", RegistrationQuota::new(alice, 2)).await,
        "the count is per registrant, whatever quota value carries it"
    );
    assert!(
        insert("a3", RegistrationQuota::new(alice, 3)).await,
        "a larger max_clients admits more clients under the same registrant"
    );

    let updated = managed_client("a1", hash(), "Updated");
    assert!(
        ok(store.update_client(updated, None).await, "update_client"),
        "update_client must replace a client stored within a quota"
    );
    assert!(
        !insert("a4", RegistrationQuota::new(alice, 3)).await,
        "update_client must keep the client's place in its registrant's quota"
    );
    assert!(
        ok(store.delete_client("a2", None).await, "delete_client"),
        "delete_client must remove a client stored within a quota"
    );
    assert!(
        insert("a4", RegistrationQuota::new(alice, 3)).await,
        "delete_client must free the client's place in its registrant's quota"
    );
    assert!(
        !insert("a5", RegistrationQuota::new(alice, 3)).await,
        "after the freed place is taken, the registrant is at its quota again"
    );
}
