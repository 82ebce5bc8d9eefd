//! Refresh token rotation (RFC 6749 §6, RFC 9700 §4.14.2): the store checks
//! the token, rotates it out and issues its successors in one atomic
//! operation; a reuse revokes the grant, a refusal changes nothing.
//!
//! The answers are [`RefreshRotation::decide`]'s, whether the store calls it
//! or states its conditions in SQL.

use std::time::Duration;

use crate::client::ClientId;
use crate::store::{FoundRefreshToken, GrantStore, RefreshRotation, RefreshTokenRecord, Rotation};
use crate::testing::fixtures::{
    API, DAY, HOUR, Issued, MINUTE, SECOND, access_found, client_id, expected_access,
    expected_refresh, hash, now, ok, planned, refresh_found, resources, rotate, rotation,
    rotation_stored, scope,
};

/// `rotate_refresh_token` of a current token, every check passing, is
/// [`Rotation::Rotated`] with the token and its grant as found (current):
/// the new refresh token is stored current, with the old token's scope (not
/// the grant's), and the new access token with that scope too; both issued at
/// the request's `now`, expiring as planned but never after the grant. The
/// old token stays findable, no longer current, and the grant's earlier
/// access token stays live. The new token rotates in turn. Presenting a
/// rotated-out token again, by its own client, is a reuse:
/// [`Rotation::Revoked`] with the grant's id, nothing stored, and the grant
/// revoked — no token of it, current or not, is found afterwards, and
/// rotating its last current token is `Refused(None)`.
pub async fn rotate_refresh_token_then_reuse<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let mut issued = Issued::access_and_refresh(&client, t);
    // Narrower than the grant's "read write": the new tokens must carry it.
    issued.refresh.as_mut().unwrap().scope = scope("read");
    let issued = issued.create(&store).await;
    let grant = &issued.grant;
    let old = issued.refresh.clone().unwrap();

    // A refresh token planned to outlive the grant.
    let at = t + MINUTE;
    let mut first = rotation(&client, at);
    first.refresh_token = planned(at, 2 * DAY);
    assert_eq!(
        rotate(&store, &old.hash, &first).await,
        Rotation::Rotated(found(&old, &issued, true)),
        "rotate_refresh_token of a current refresh token, every check passing, must be \
         Rotated with the token and its grant as found before the rotation"
    );
    let new_refresh = expected_refresh(&first.refresh_token, grant, &old.scope, at);
    assert_eq!(
        new_refresh.expires_at, grant.expires_at,
        "the fixture plans a refresh token outliving its grant"
    );
    assert_eq!(
        refresh_found(&store, &new_refresh.hash).await,
        Some(found(&new_refresh, &issued, true)),
        "after Rotated, the new refresh token must be found current, with the old token's \
         scope (not the grant's), issued at the rotation's now, and expiring no later than its \
         grant (a token planned to outlive the grant is capped at the grant's expiry)"
    );
    let new_access = expected_access(&first.access_token, grant, &old.scope, at);
    assert_eq!(
        ok(
            store.find_access_token(&new_access.hash).await,
            "find_access_token"
        ),
        Some((new_access.clone(), grant.clone())),
        "after Rotated, the new access token must be found with the old refresh token's \
         scope, issued at the rotation's now, expiring as planned"
    );
    assert_eq!(
        refresh_found(&store, &old.hash).await,
        Some(found(&old, &issued, false)),
        "a rotated-out refresh token must stay findable, as stored, with current = false \
         (RFC 9700 §4.14.2)"
    );
    assert!(
        access_found(&store, &issued.access_hash()).await,
        "rotation must leave the grant's earlier access tokens"
    );

    let later = at + MINUTE;
    let second = rotation(&client, later);
    assert_eq!(
        rotate(&store, &new_refresh.hash, &second).await,
        Rotation::Rotated(found(&new_refresh, &issued, true)),
        "the refresh token a rotation stored must rotate in turn"
    );
    let third = second.refresh_token.hash;
    assert!(
        refresh_found(&store, &third)
            .await
            .is_some_and(|r| r.current)
            && refresh_found(&store, &new_refresh.hash)
                .await
                .is_some_and(|r| !r.current),
        "a second rotation must leave the new token current and the one before rotated out"
    );

    let reuse = rotation(&client, later + MINUTE);
    assert_eq!(
        rotate(&store, &old.hash, &reuse).await,
        Rotation::Revoked(grant.id),
        "rotate_refresh_token of a rotated-out refresh token by its own client is a reuse: \
         it must be Revoked with the grant's id (RFC 9700 §4.14.2)"
    );
    assert!(
        !rotation_stored(&store, &reuse).await,
        "a reuse must store no token"
    );
    let mut survivors = Vec::new();
    for (hash, what) in [
        (issued.access_hash(), "the first access token"),
        (new_access.hash, "a rotation's access token"),
        (second.access_token.hash, "the last rotation's access token"),
    ] {
        if access_found(&store, &hash).await {
            survivors.push(what);
        }
    }
    for (hash, what) in [
        (old.hash, "the reused refresh token"),
        (new_refresh.hash, "a rotated-out refresh token"),
        (third, "the current refresh token"),
    ] {
        if refresh_found(&store, &hash).await.is_some() {
            survivors.push(what);
        }
    }
    assert!(
        survivors.is_empty(),
        "a reuse must revoke the grant and everything derived from it; still found: {}",
        survivors.join(", ")
    );
    let after = rotation(&client, later + 2 * MINUTE);
    assert_eq!(
        rotate(&store, &third, &after).await,
        Rotation::Refused(None),
        "rotate_refresh_token of a token whose grant a reuse revoked must be Refused(None)"
    );
    assert!(
        !rotation_stored(&store, &after).await,
        "a refused rotation must store no token"
    );
}

/// `rotate_refresh_token` is [`Rotation::Refused`]`(None)`, storing nothing,
/// for a token never stored, for an access token's hash, and for a token
/// whose grant was revoked (current or rotated out); other tokens stay
/// current.
pub async fn rotate_unknown_or_revoked_refresh_token<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let live = Issued::access_and_refresh(&client, t).create(&store).await;

    let unknown = rotation(&client, t);
    assert_eq!(
        rotate(&store, &hash(), &unknown).await,
        Rotation::Refused(None),
        "rotate_refresh_token of a token never stored must be Refused(None)"
    );
    assert!(
        !rotation_stored(&store, &unknown).await,
        "rotate_refresh_token of an unknown token must store nothing"
    );
    let mistaken = rotation(&client, t);
    assert_eq!(
        rotate(&store, &live.access_hash(), &mistaken).await,
        Rotation::Refused(None),
        "rotate_refresh_token of an access token's hash must be Refused(None)"
    );
    assert!(
        !rotation_stored(&store, &mistaken).await,
        "rotate_refresh_token of an access token's hash must store nothing"
    );

    let revoked = Issued::access_and_refresh(&client, t).create(&store).await;
    let rotated_out = revoked.refresh_hash();
    let first = rotation(&client, t);
    assert!(
        matches!(
            rotate(&store, &rotated_out, &first).await,
            Rotation::Rotated(_)
        ),
        "rotate_refresh_token of a current token, every check passing, must be Rotated"
    );
    assert!(ok(
        store.revoke_grant(&revoked.grant.id).await,
        "revoke_grant"
    ));
    for (presented, what) in [
        (first.refresh_token.hash, "current"),
        (rotated_out, "rotated out"),
    ] {
        let late = rotation(&client, t + MINUTE);
        assert_eq!(
            rotate(&store, &presented, &late).await,
            Rotation::Refused(None),
            "rotate_refresh_token of a token ({what}) whose grant was revoked must be \
             Refused(None)"
        );
        assert!(
            !rotation_stored(&store, &late).await,
            "rotate_refresh_token for a revoked grant must store nothing"
        );
    }
    assert!(
        refresh_found(&store, &live.refresh_hash())
            .await
            .is_some_and(|r| r.current),
        "refused rotations must leave other refresh tokens current"
    );
}

/// `rotate_refresh_token` by a client other than the grant's is refused
/// ([`Rotation::Refused`] with the token as found) and changes nothing,
/// whether the token is current — it stays current and rotates for its own
/// client — or rotated out: another client presenting a rotated-out token
/// is not a reuse, and must not revoke the grant. (Otherwise anyone holding
/// a leaked token could revoke the victim's grant.)
pub async fn rotate_refresh_token_refuses_another_client<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let other = client_id("other-client");
    let issued = Issued::access_and_refresh(&client, t).create(&store).await;
    let old = issued.refresh.clone().unwrap();

    assert_refused(
        &store,
        &issued,
        &old,
        true,
        rotation(&other, t + MINUTE),
        &client,
        "by another client than the grant's",
    )
    .await;
    // `assert_refused` rotated it for its own client: `old` is rotated out.
    assert_refused(
        &store,
        &issued,
        &old,
        false,
        rotation(&other, t + 2 * MINUTE),
        &client,
        "of a rotated-out token by another client than the grant's",
    )
    .await;
}

/// `rotate_refresh_token` refuses a token at its expiry or later, and a
/// token whose grant has expired even though the token has not (the store
/// checks the grant's expiry itself); each refusal stores nothing and leaves
/// the token current (a store may already have dropped it: then the answer
/// is `Refused(None)`). One second before expiry the token rotates. A
/// rotated-out token reused after its expiry, by its own client, still
/// revokes the grant — a reuse is recognised before expiry is checked — if
/// the store still holds it.
pub async fn rotate_refresh_token_refuses_an_expired_token_or_grant<S: GrantStore + Clone>(
    store: S,
) {
    let t = now();
    let client = client_id("client");

    // The token expires (after 6 h) long before its grant (a day).
    for (after_expiry, what) in [
        (Duration::ZERO, "at the token's expiry"),
        (HOUR, "an hour after the token's expiry"),
    ] {
        let issued = Issued::access_and_refresh(&client, t).create(&store).await;
        let token = issued.refresh.clone().unwrap();
        assert!(token.expires_at < issued.grant.expires_at);
        let late = rotation(&client, token.expires_at + after_expiry);
        assert_expired_refused(&store, &issued, &late, what).await;
    }

    // The grant expires (after an hour) before the token (two hours).
    for (after_expiry, what) in [
        (Duration::ZERO, "at its grant's expiry, the token living on"),
        (MINUTE, "after its grant's expiry, the token living on"),
    ] {
        let mut issued = Issued::access_and_refresh(&client, t);
        issued.grant.expires_at = t + HOUR;
        issued.refresh.as_mut().unwrap().expires_at = t + 2 * HOUR;
        let issued = issued.create(&store).await;
        let late = rotation(&client, issued.grant.expires_at + after_expiry);
        assert_expired_refused(&store, &issued, &late, what).await;
    }

    let issued = Issued::access_and_refresh(&client, t).create(&store).await;
    let token = issued.refresh.clone().unwrap();
    let just_in_time = rotation(&client, token.expires_at - SECOND);
    assert_eq!(
        rotate(&store, &token.hash, &just_in_time).await,
        Rotation::Rotated(found(&token, &issued, true)),
        "rotate_refresh_token one second before the token expires must be Rotated"
    );
    let reuse = rotation(&client, token.expires_at + MINUTE);
    match rotate(&store, &token.hash, &reuse).await {
        Rotation::Revoked(id) => {
            assert_eq!(id, issued.grant.id, "Revoked must carry the grant's id");
            assert!(
                refresh_found(&store, &just_in_time.refresh_token.hash)
                    .await
                    .is_none(),
                "a reuse must revoke the grant: its current refresh token must no longer be \
                 found"
            );
        }
        // The store dropped the expired token, as it may.
        Rotation::Refused(None) => assert!(
            refresh_found(&store, &token.hash).await.is_none(),
            "rotate_refresh_token answered Refused(None) for a reuse of a token \
             find_refresh_token still finds"
        ),
        other => panic!(
            "rotate_refresh_token of a rotated-out token after its expiry, by its own client, \
             is still a reuse: it must be Revoked (a reuse is recognised before expiry is \
             checked), or Refused(None) if the store dropped the token; got {other:?}"
        ),
    }
    assert!(
        !rotation_stored(&store, &reuse).await,
        "a reuse must store no token"
    );
}

/// `rotate_refresh_token` may narrow the new access token's scope to any
/// subset of the refresh token's (RFC 6749 §6), whatever the order the
/// scope was asked in or which of its tokens are kept: the access token
/// gets exactly the scope asked, and the new refresh token keeps the old
/// one's full scope, so the next rotation may ask for all of it again. A
/// scope beyond the refresh token's is refused, changing nothing — even
/// when it is within the grant's scope, when it differs from a scope token by
/// a prefix (`rea` for `read`), or when it adds a token to the whole scope.
pub async fn rotate_refresh_token_narrows_scope_but_never_widens<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let mut issued = Issued::access_and_refresh(&client, t);
    issued.grant.scope = scope("read write admin");
    issued.refresh.as_mut().unwrap().scope = scope("read write admin");
    let issued = issued.create(&store).await;
    let grant = &issued.grant;

    let mut current = issued.refresh.clone().unwrap();
    let mut at = t;
    for asked in [
        "admin read",
        "write admin",
        "read",
        "write",
        "write read admin",
    ] {
        at += MINUTE;
        let mut narrowed = rotation(&client, at);
        narrowed.scope = Some(scope(asked));
        // Every other rotation is for an audience (RFC 8707), which the
        // access token keeps.
        if asked.len() % 2 == 0 {
            narrowed.access_token = narrowed
                .access_token
                .clone()
                .with_audience(resources(&[API]));
        }
        assert_eq!(
            rotate(&store, &current.hash, &narrowed).await,
            Rotation::Rotated(found(&current, &issued, true)),
            "rotate_refresh_token narrowing the scope of a \"read write admin\" token to \
             {asked:?} must be Rotated"
        );
        let access = expected_access(&narrowed.access_token, grant, &scope(asked), at);
        assert_eq!(
            ok(
                store.find_access_token(&access.hash).await,
                "find_access_token"
            ),
            Some((access, grant.clone())),
            "after a rotation narrowing the scope to {asked:?}, the access token must carry \
             exactly that scope"
        );
        let next = expected_refresh(&narrowed.refresh_token, grant, &current.scope, at);
        assert_eq!(
            refresh_found(&store, &next.hash).await,
            Some(found(&next, &issued, true)),
            "after a rotation narrowing the access token's scope to {asked:?}, the new refresh \
             token must keep the old one's full scope"
        );
        current = next;
    }

    // Widening: the token carries less than its grant.
    let mut narrow = Issued::access_and_refresh(&client, t);
    narrow.grant.scope = scope("read write admin");
    narrow.refresh.as_mut().unwrap().scope = scope("read write");
    let narrow = narrow.create(&store).await;
    let token = narrow.refresh.clone().unwrap();
    for (asked, what) in [
        (
            "read write admin",
            "to the grant's scope, beyond the token's",
        ),
        ("admin", "to a scope of the grant the token lacks"),
        ("rea", "to a prefix of one of the token's scope tokens"),
        (
            "read write writer",
            "to the token's scope and one more token",
        ),
        ("other", "to a scope neither the token nor the grant has"),
    ] {
        let mut widened = rotation(&client, t + MINUTE);
        widened.scope = Some(scope(asked));
        // Each refusal must leave the token current; the last check rotates it.
        let outcome = rotate(&store, &token.hash, &widened).await;
        assert_eq!(
            outcome,
            Rotation::Refused(Some(found(&token, &narrow, true))),
            "rotate_refresh_token widening a \"read write\" token's scope {what} ({asked:?}) \
             must be Refused with the token as found (RFC 6749 §6)"
        );
        assert!(
            !rotation_stored(&store, &widened).await,
            "a rotation refused for widening the scope ({asked:?}) must store no token"
        );
        assert_eq!(
            refresh_found(&store, &token.hash).await,
            Some(found(&token, &narrow, true)),
            "a rotation refused for widening the scope ({asked:?}) must leave the token current"
        );
    }
    let proper = rotation(&client, t + 2 * MINUTE);
    assert_eq!(
        rotate(&store, &token.hash, &proper).await,
        Rotation::Rotated(found(&token, &narrow, true)),
        "refused rotations must leave the token rotatable, and its grant unrevoked"
    );
}

/// The refresh token `record` of `issued`'s grant as `find_refresh_token`
/// must return it.
fn found(record: &RefreshTokenRecord, issued: &Issued, current: bool) -> FoundRefreshToken {
    FoundRefreshToken {
        record: record.clone(),
        grant: issued.grant.clone(),
        current,
    }
}

/// Presents `asked` for `token` of `issued`'s grant, and asserts the store
/// refused it and changed nothing: [`Rotation::Refused`] with the token as
/// found, neither planned token stored, the token as it was, the grant
/// unrevoked. If the token is `current`, a rotation by `client` passing every
/// check must then rotate it.
async fn assert_refused<S: GrantStore>(
    store: &S,
    issued: &Issued,
    token: &RefreshTokenRecord,
    current: bool,
    asked: RefreshRotation,
    client: &ClientId,
    what: &str,
) {
    let outcome = rotate(store, &token.hash, &asked).await;
    assert_eq!(
        outcome,
        Rotation::Refused(Some(found(token, issued, current))),
        "rotate_refresh_token {what} must be Refused with the token as found, changing nothing"
    );
    assert!(
        !rotation_stored(store, &asked).await,
        "a refused rotation ({what}) must store no token"
    );
    assert_eq!(
        refresh_found(store, &token.hash).await,
        Some(found(token, issued, current)),
        "a refused rotation ({what}) must leave the token as it was, its grant unrevoked"
    );
    if current {
        let proper = rotation(client, asked.now);
        assert_eq!(
            rotate(store, &token.hash, &proper).await,
            Rotation::Rotated(found(token, issued, true)),
            "a refused rotation ({what}) must leave the token rotatable: a rotation passing \
             every check afterwards must be Rotated (Refused(None) here means the refusal \
             revoked the grant)"
        );
    }
}

/// Presents `late` for `issued`'s refresh token, expired or of an expired
/// grant, and asserts it was refused changing nothing.
async fn assert_expired_refused<S: GrantStore>(
    store: &S,
    issued: &Issued,
    late: &RefreshRotation,
    what: &str,
) {
    let token = issued.refresh.clone().unwrap();
    let outcome = rotate(store, &token.hash, late).await;
    let after = refresh_found(store, &token.hash).await;
    match (&outcome, &after) {
        (Rotation::Refused(Some(as_found)), Some(_)) => assert_eq!(
            *as_found,
            found(&token, issued, true),
            "rotate_refresh_token of a token {what} must be Refused with the token as found"
        ),
        (Rotation::Refused(None), None) => {}
        _ => panic!(
            "rotate_refresh_token of a token {what} must be Refused, and leave the token \
             current (or not found, if the store dropped it already); got {outcome:?}, and \
             then find_refresh_token returned {after:?}"
        ),
    }
    assert!(
        after.is_none_or(|f| f.current),
        "a refused rotation of a token {what} must leave it current"
    );
    assert!(
        !rotation_stored(store, late).await,
        "rotate_refresh_token of a token {what} must store no token"
    );
}
