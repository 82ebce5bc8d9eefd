//! Authorization code redemption: once, atomically with its tokens (RFC 6749
//! §4.1.2, RFC 6819 §5.2.1.1).

use crate::client::ClientRegistry;
use crate::store::{FoundCode, FoundRefreshToken, Redemption, TokenStore};
use crate::testing::fixtures::{
    Issued, access, access_found, code_found, hash, now, ok, refresh, refresh_found,
    register_client,
};

/// `redeem_code` of an unredeemed code is [`Redemption::Redeemed`] and stores
/// its tokens (with or without a refresh token); the code stays findable,
/// redeemed. Redeeming it again is [`Redemption::AlreadyRedeemed`] and stores
/// nothing.
pub async fn redeem_code_once<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "client").await;
    let issued = Issued::code(&client, t).create(&store).await;
    let grant = &issued.grant;

    let (first_access, first_refresh) = (access(grant, t), refresh(grant, t));
    assert_eq!(
        ok(
            store
                .redeem_code(
                    &issued.code_hash(),
                    first_access.clone(),
                    Some(first_refresh.clone())
                )
                .await,
            "redeem_code"
        ),
        Redemption::Redeemed,
        "redeem_code of an unredeemed code must be Redeemed"
    );
    assert_eq!(
        ok(
            store.find_access_token(&first_access.hash).await,
            "find_access_token"
        ),
        Some((first_access.clone(), grant.clone())),
        "after Redeemed, the access token must be found as stored"
    );
    assert_eq!(
        refresh_found(&store, &first_refresh.hash).await,
        Some(FoundRefreshToken {
            record: first_refresh.clone(),
            grant: grant.clone(),
            current: true,
        }),
        "after Redeemed, the refresh token must be found as stored, current"
    );
    assert_eq!(
        ok(store.find_code(&issued.code_hash()).await, "find_code"),
        Some(FoundCode {
            code: issued.code.clone().unwrap(),
            grant: grant.clone(),
            redeemed: true,
        }),
        "a redeemed code must stay findable, as stored, with redeemed = true \
         (RFC 6819 §5.2.1.1)"
    );

    let (replay_access, replay_refresh) = (access(grant, t), refresh(grant, t));
    assert_eq!(
        ok(
            store
                .redeem_code(
                    &issued.code_hash(),
                    replay_access.clone(),
                    Some(replay_refresh.clone())
                )
                .await,
            "redeem_code"
        ),
        Redemption::AlreadyRedeemed,
        "redeem_code of a redeemed code must be AlreadyRedeemed"
    );
    assert!(
        !access_found(&store, &replay_access.hash).await
            && refresh_found(&store, &replay_refresh.hash).await.is_none(),
        "after AlreadyRedeemed, redeem_code must have stored nothing"
    );
    assert!(
        access_found(&store, &first_access.hash).await
            && refresh_found(&store, &first_refresh.hash)
                .await
                .is_some_and(|r| r.current),
        "a second redemption must leave the first one's tokens as they were"
    );

    // Without a refresh token.
    let bare = Issued::code(&client, t).create(&store).await;
    let bare_access = access(&bare.grant, t);
    assert_eq!(
        ok(
            store
                .redeem_code(&bare.code_hash(), bare_access.clone(), None)
                .await,
            "redeem_code"
        ),
        Redemption::Redeemed,
        "redeem_code without a refresh token must be Redeemed"
    );
    assert_eq!(
        ok(
            store.find_access_token(&bare_access.hash).await,
            "find_access_token"
        ),
        Some((bare_access, bare.grant.clone())),
        "after Redeemed, the access token must be found as stored"
    );
    assert!(
        ok(store.find_code(&bare.code_hash()).await, "find_code").is_some_and(|c| c.redeemed),
        "a redeemed code must be found with redeemed = true"
    );
}

/// `redeem_code` is [`Redemption::Unknown`], storing nothing, for a code never
/// stored and for a code whose grant was revoked; such a code is not found.
pub async fn redeem_unknown_or_revoked_code<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "client").await;
    let live = Issued::code(&client, t).create(&store).await;

    let (new_access, new_refresh) = (access(&live.grant, t), refresh(&live.grant, t));
    assert_eq!(
        ok(
            store
                .redeem_code(&hash(), new_access.clone(), Some(new_refresh.clone()))
                .await,
            "redeem_code"
        ),
        Redemption::Unknown,
        "redeem_code of a code never stored must be Unknown"
    );
    assert!(
        !access_found(&store, &new_access.hash).await
            && refresh_found(&store, &new_refresh.hash).await.is_none(),
        "after Unknown, redeem_code must have stored nothing"
    );
    assert!(
        ok(store.find_code(&live.code_hash()).await, "find_code").is_some_and(|c| !c.redeemed),
        "a failed redemption of another code must leave this one unredeemed"
    );

    let revoked = Issued::code(&client, t).create(&store).await;
    assert!(ok(
        store.revoke_grant(&revoked.grant.id).await,
        "revoke_grant"
    ));
    assert!(
        !code_found(&store, &revoked.code_hash()).await,
        "find_code must return None for a code whose grant was revoked"
    );
    let (new_access, new_refresh) = (access(&revoked.grant, t), refresh(&revoked.grant, t));
    assert_eq!(
        ok(
            store
                .redeem_code(
                    &revoked.code_hash(),
                    new_access.clone(),
                    Some(new_refresh.clone())
                )
                .await,
            "redeem_code"
        ),
        Redemption::Unknown,
        "redeem_code of a code whose grant was revoked must be Unknown"
    );
    assert!(
        !access_found(&store, &new_access.hash).await
            && refresh_found(&store, &new_refresh.hash).await.is_none(),
        "redeem_code for a revoked grant must store nothing"
    );
}
