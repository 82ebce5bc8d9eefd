//! Refresh token rotation: one compare-and-swap, reuse recognised (RFC 9700
//! §4.14.2).

use crate::client::ClientRegistry;
use crate::store::{FoundRefreshToken, GrantId, Rotation, TokenStore};
use crate::testing::fixtures::{
    Issued, MINUTE, access, access_found, hash, now, ok, refresh, refresh_found, register_client,
};

/// `rotate_refresh_token` of a current token is [`Rotation::Rotated`]: the new
/// tokens are found as stored, and the old one stays findable, no longer
/// current. Rotating the old one again is [`Rotation::Reused`] and stores
/// nothing; the new one rotates in turn.
pub async fn rotate_refresh_token_then_reuse<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "client").await;
    let issued = Issued::access_and_refresh(&client, t).create(&store).await;
    let grant = &issued.grant;
    let old = issued.refresh.clone().unwrap();

    let (new_refresh, new_access) = (refresh(grant, t + MINUTE), access(grant, t + MINUTE));
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&old.hash, new_refresh.clone(), new_access.clone())
                .await,
            "rotate_refresh_token"
        ),
        Rotation::Rotated,
        "rotate_refresh_token of a current refresh token must be Rotated"
    );
    assert_eq!(
        refresh_found(&store, &new_refresh.hash).await,
        Some(FoundRefreshToken {
            record: new_refresh.clone(),
            grant: grant.clone(),
            current: true,
        }),
        "after Rotated, the new refresh token must be found as stored, current"
    );
    assert_eq!(
        ok(
            store.find_access_token(&new_access.hash).await,
            "find_access_token"
        ),
        Some((new_access.clone(), grant.clone())),
        "after Rotated, the new access token must be found as stored"
    );
    assert_eq!(
        refresh_found(&store, &old.hash).await,
        Some(FoundRefreshToken {
            record: old.clone(),
            grant: grant.clone(),
            current: false,
        }),
        "a rotated-out refresh token must stay findable, as stored, with current = false \
         (RFC 9700 §4.14.2)"
    );
    assert!(
        access_found(&store, &issued.access_hash()).await,
        "rotation must leave the grant's earlier access tokens"
    );

    let (replay_refresh, replay_access) = (refresh(grant, t + 2 * MINUTE), access(grant, t));
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&old.hash, replay_refresh.clone(), replay_access.clone())
                .await,
            "rotate_refresh_token"
        ),
        Rotation::Reused,
        "rotate_refresh_token of a rotated-out refresh token must be Reused"
    );
    assert!(
        refresh_found(&store, &replay_refresh.hash).await.is_none()
            && !access_found(&store, &replay_access.hash).await,
        "after Reused, rotate_refresh_token must have stored nothing"
    );
    assert!(
        refresh_found(&store, &new_refresh.hash)
            .await
            .is_some_and(|r| r.current),
        "Reused must leave the current refresh token current"
    );

    let (third_refresh, third_access) = (
        refresh(grant, t + 3 * MINUTE),
        access(grant, t + 3 * MINUTE),
    );
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&new_refresh.hash, third_refresh.clone(), third_access)
                .await,
            "rotate_refresh_token"
        ),
        Rotation::Rotated,
        "the refresh token a rotation stored must rotate in turn"
    );
    assert!(
        refresh_found(&store, &third_refresh.hash)
            .await
            .is_some_and(|r| r.current)
            && refresh_found(&store, &new_refresh.hash)
                .await
                .is_some_and(|r| !r.current),
        "a second rotation must leave the new token current and the one before rotated out"
    );
}

/// `rotate_refresh_token` is [`Rotation::Unknown`], storing nothing, for a
/// token never stored and for a token whose grant was revoked (current or
/// rotated out).
pub async fn rotate_unknown_or_revoked_refresh_token<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let t = now();
    let client = register_client(&store, "client").await;
    let live = Issued::access_and_refresh(&client, t).create(&store).await;
    let grant = &live.grant;

    let (new_refresh, new_access) = (refresh(grant, t), access(grant, t));
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&hash(), new_refresh.clone(), new_access.clone())
                .await,
            "rotate_refresh_token"
        ),
        Rotation::Unknown,
        "rotate_refresh_token of a token never stored must be Unknown"
    );
    assert!(
        refresh_found(&store, &new_refresh.hash).await.is_none()
            && !access_found(&store, &new_access.hash).await,
        "after Unknown, rotate_refresh_token must have stored nothing"
    );
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&live.access_hash(), refresh(grant, t), access(grant, t))
                .await,
            "rotate_refresh_token"
        ),
        Rotation::Unknown,
        "rotate_refresh_token of an access token's hash must be Unknown"
    );

    let revoked = Issued::access_and_refresh(&client, t).create(&store).await;
    let rotated_out = revoked.refresh.clone().unwrap();
    let (current, current_access) = (refresh(&revoked.grant, t), access(&revoked.grant, t));
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&rotated_out.hash, current.clone(), current_access)
                .await,
            "rotate_refresh_token"
        ),
        Rotation::Rotated
    );
    assert!(ok(
        store.revoke_grant(&revoked.grant.id).await,
        "revoke_grant"
    ));
    for presented in [current.hash, rotated_out.hash] {
        let (new_refresh, new_access) = (refresh(&revoked.grant, t), access(&revoked.grant, t));
        assert_eq!(
            ok(
                store
                    .rotate_refresh_token(&presented, new_refresh.clone(), new_access.clone())
                    .await,
                "rotate_refresh_token"
            ),
            Rotation::Unknown,
            "rotate_refresh_token of a token whose grant was revoked must be Unknown"
        );
        assert!(
            refresh_found(&store, &new_refresh.hash).await.is_none()
                && !access_found(&store, &new_access.hash).await,
            "rotate_refresh_token for a revoked grant must store nothing"
        );
    }

    // Rotation of an unknown token into a grant that does not exist either.
    let phantom = GrantId::generate();
    let mut orphan_refresh = refresh(grant, t);
    orphan_refresh.grant_id = phantom;
    let mut orphan_access = access(grant, t);
    orphan_access.grant_id = phantom;
    assert_eq!(
        ok(
            store
                .rotate_refresh_token(&hash(), orphan_refresh, orphan_access)
                .await,
            "rotate_refresh_token"
        ),
        Rotation::Unknown,
        "rotate_refresh_token of an unknown token for an unknown grant must be Unknown"
    );
    assert!(
        refresh_found(&store, &live.refresh_hash())
            .await
            .is_some_and(|r| r.current),
        "failed rotations must leave other refresh tokens current"
    );
}
