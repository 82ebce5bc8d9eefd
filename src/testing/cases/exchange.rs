//! Token exchange (RFC 8693): an access token added under an existing grant.

use std::sync::Arc;

use crate::store::{Actor, GrantId, GrantStore, TokenExchangeRecord};
use crate::testing::fixtures::{
    Issued, MINUTE, access_found, access_with, client_id, hash, now, ok, resources, scope,
};

/// `add_access_token` stores a token under a live grant — one kept with
/// other secrets, and one whose only secret was its first access token —
/// and `find_access_token` returns it as given, its exchange record
/// included, with its grant; the grant's first token stays. Revoking the
/// grant kills the added token. Adding under a revoked or unknown grant
/// returns `false` and stores nothing.
pub async fn add_access_token_joins_the_grant<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    for issued in [
        Issued::access_and_refresh(&client, t),
        Issued::single_access(&client, t),
    ] {
        let issued = issued.create(&store).await;
        let mut added = access_with(&issued.grant, hash(), t + MINUTE);
        added.scope = scope("read");
        added.audience = resources(&["https://other.example/api"]);
        added.exchange = Some(Arc::new(TokenExchangeRecord::new(
            client_id("exchanger"),
            Some(Actor::new("actor", Some(Actor::new("first-actor", None)))),
        )));
        assert!(
            ok(
                store.add_access_token(added.clone()).await,
                "add_access_token"
            ),
            "add_access_token under a live grant must return true"
        );
        assert_eq!(
            ok(
                store.find_access_token(&added.hash).await,
                "find_access_token"
            ),
            Some((added.clone(), issued.grant.clone())),
            "find_access_token must return an added access token as given, with its grant"
        );
        assert!(
            access_found(&store, &issued.access_hash()).await,
            "add_access_token must leave the grant's other tokens as they were"
        );
        assert!(
            ok(store.revoke_grant(&issued.grant.id).await, "revoke_grant"),
            "revoke_grant must find a grant with an added token"
        );
        assert!(
            !access_found(&store, &added.hash).await
                && !access_found(&store, &issued.access_hash()).await,
            "revoke_grant must kill the tokens added under the grant"
        );
        let mut late = access_with(&issued.grant, hash(), t + MINUTE);
        late.exchange = added.exchange.clone();
        assert!(
            !ok(
                store.add_access_token(late.clone()).await,
                "add_access_token"
            ),
            "add_access_token under a revoked grant must return false"
        );
        assert!(
            !access_found(&store, &late.hash).await,
            "add_access_token under a revoked grant must store nothing"
        );
    }
    let mut orphan = access_with(&Issued::access(&client, t).grant, hash(), t);
    orphan.grant_id = GrantId::generate();
    assert!(
        !ok(
            store.add_access_token(orphan.clone()).await,
            "add_access_token"
        ),
        "add_access_token under a grant never stored must return false"
    );
    assert!(
        !access_found(&store, &orphan.hash).await,
        "add_access_token under a grant never stored must store nothing"
    );
}

/// `find_grant` finds a live grant by its identifier — one kept with other
/// secrets, and one whose only secret was its first access token — as it
/// was created; after `revoke_grant`, and for an identifier never stored,
/// it finds nothing.
pub async fn find_grant_finds_live_grants_only<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    for issued in [
        Issued::access_and_refresh(&client, t),
        Issued::single_access(&client, t),
    ] {
        let issued = issued.create(&store).await;
        assert_eq!(
            ok(store.find_grant(&issued.grant.id).await, "find_grant"),
            Some(issued.grant.clone()),
            "find_grant must return a live grant as it was created"
        );
        assert!(
            ok(store.revoke_grant(&issued.grant.id).await, "revoke_grant"),
            "revoke_grant must find the grant"
        );
        assert_eq!(
            ok(store.find_grant(&issued.grant.id).await, "find_grant"),
            None,
            "find_grant must not find a revoked grant"
        );
    }
    assert_eq!(
        ok(store.find_grant(&GrantId::generate()).await, "find_grant"),
        None,
        "find_grant must not find a grant never stored"
    );
}
