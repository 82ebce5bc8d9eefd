//! Sender-constrained tokens (RFC 9449 §5, §6; RFC 8705 §3): a token's key
//! binding (`cnf`) is kept wherever the token is stored and read back, a
//! bound refresh token rotates only for its key, and its rotations keep the
//! binding.

use std::sync::Arc;

use crate::store::{
    AuthorizationCodeStore, DeviceAuthorizationStore, DeviceCollection, DeviceDecision,
    FoundRefreshToken, GrantId, GrantStore, PlannedToken, Redemption, Rotation, Subject,
};
use crate::testing::fixtures::{
    DAY, HOUR, Issued, MINUTE, SECOND, client_id, device, expected_access, expected_refresh, hash,
    now, ok, pending, planned, redeem, redemption, refresh_found, rotate, rotation, scope,
};
use crate::token::Confirmation;

fn jkt(n: u8) -> Confirmation {
    Confirmation::jkt(format!(
        "jkt-{n}-0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    ))
}

fn x5t() -> Confirmation {
    Confirmation::x5t_s256("bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2")
}

/// `create_grant` keeps each token's binding — a DPoP `jkt`, a certificate
/// `x5t#S256`, or none — and the lookups return it.
pub async fn bound_tokens_keep_their_binding<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    for (access_cnf, refresh_cnf) in [
        (Some(jkt(1)), Some(jkt(1))),
        (Some(x5t()), None),
        (None, None),
    ] {
        let mut issued = Issued::access_and_refresh(&client, t);
        if let Some(access) = issued.access.as_mut() {
            access.cnf = access_cnf.clone();
        }
        if let Some(refresh) = issued.refresh.as_mut() {
            refresh.cnf = refresh_cnf.clone();
        }
        let issued = issued.create(&store).await;
        let found = ok(
            store.find_access_token(&issued.access_hash()).await,
            "find_access_token",
        );
        assert_eq!(
            found.map(|(record, _)| record.cnf),
            Some(access_cnf),
            "find_access_token must return the access token's cnf as stored"
        );
        assert_eq!(
            refresh_found(&store, &issued.refresh_hash())
                .await
                .map(|found| found.record.cnf),
            Some(refresh_cnf),
            "find_refresh_token must return the refresh token's cnf as stored"
        );
    }
}

/// A refresh token bound to a key rotates only for a rotation that proved
/// that key ([`RefreshRotation::proven_key`](crate::store::RefreshRotation::proven_key)):
/// without it, or with another, the answer is `Refused` and nothing changes —
/// not even a rotated-out token's reuse detection, which a thief without the
/// key must not be able to set off. The new refresh token keeps the binding;
/// the new access token has its planned one.
pub async fn rotate_refresh_token_checks_the_binding<S: GrantStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let mut issued = Issued::access_and_refresh(&client, t);
    if let Some(refresh) = issued.refresh.as_mut() {
        refresh.cnf = Some(jkt(1));
    }
    let issued = issued.create(&store).await;
    let grant = &issued.grant;
    let old = issued.refresh.clone().unwrap();
    let as_found = |record, current| FoundRefreshToken {
        record,
        grant: grant.clone(),
        current,
    };

    let at = t + MINUTE;
    for (proven, what) in [(None, "no key"), (Some(jkt(2)), "another key")] {
        let attempt = rotation(&client, at).with_proven_key(proven);
        assert_eq!(
            rotate(&store, &old.hash, &attempt).await,
            Rotation::Refused(Some(as_found(old.clone(), true))),
            "rotate_refresh_token of a bound refresh token proving {what} must be Refused \
             with the token as found (RFC 9449 §5)"
        );
        assert!(
            refresh_found(&store, &attempt.refresh_token.hash)
                .await
                .is_none(),
            "a rotation refused for its key must store no token"
        );
    }

    let mut right = rotation(&client, at).with_proven_key(Some(jkt(1)));
    right.access_token = planned(at, 10 * MINUTE).with_confirmation(Some(jkt(1)));
    assert_eq!(
        rotate(&store, &old.hash, &right).await,
        Rotation::Rotated(as_found(old.clone(), true)),
        "rotate_refresh_token of a bound refresh token proving its key must rotate"
    );
    let mut new_refresh = expected_refresh(&right.refresh_token, grant, &old.scope, at);
    new_refresh.cnf = Some(jkt(1));
    assert_eq!(
        refresh_found(&store, &new_refresh.hash).await,
        Some(as_found(new_refresh.clone(), true)),
        "the new refresh token of a bound one must keep its binding"
    );
    let new_access = expected_access(&right.access_token, grant, &old.scope, at);
    assert_eq!(
        ok(
            store.find_access_token(&new_access.hash).await,
            "find_access_token"
        )
        .map(|(record, _)| record),
        Some(new_access),
        "the new access token must be stored with its planned binding"
    );

    // The rotated-out token, presented without the key: refused, and the
    // grant lives on.
    let thief = rotation(&client, at + MINUTE);
    assert_eq!(
        rotate(&store, &old.hash, &thief).await,
        Rotation::Refused(Some(as_found(old.clone(), false))),
        "a rotated-out bound refresh token presented without its key must be Refused, \
         not treated as a reuse"
    );
    assert!(
        refresh_found(&store, &new_refresh.hash)
            .await
            .is_some_and(|found| found.current),
        "a refusal for the key must not revoke the grant"
    );
    let reuse = rotation(&client, at + MINUTE).with_proven_key(Some(jkt(1)));
    assert_eq!(
        rotate(&store, &old.hash, &reuse).await,
        Rotation::Revoked(grant.id),
        "a rotated-out bound refresh token presented with its key is a reuse"
    );
}

/// A redemption's planned bindings are stored with its tokens.
pub async fn redeem_code_keeps_the_planned_bindings<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let issued = Issued::code(&client, t).create_code(&store).await;
    let at = t + SECOND;
    let mut bound = redemption(&client, at);
    bound.access_token = planned(at, 10 * MINUTE).with_confirmation(Some(jkt(3)));
    bound.refresh_token = Some(planned(at, 6 * HOUR).with_confirmation(Some(jkt(3))));
    assert_eq!(
        redeem(&store, &issued.code_hash(), &bound).await,
        Redemption::Redeemed(issued.found_code(false)),
        "redeem_code with bound tokens, every check passing, must be Redeemed"
    );
    assert_planned_bindings_stored(
        &store,
        &bound.access_token,
        bound.refresh_token.as_ref(),
        "redeemed",
    )
    .await;
}

/// Asserts the access and refresh tokens planned as `access` and `refresh`
/// were stored with their planned bindings.
async fn assert_planned_bindings_stored<S: GrantStore>(
    store: &S,
    access: &PlannedToken,
    refresh: Option<&PlannedToken>,
    what: &str,
) {
    let found = ok(
        store.find_access_token(&access.hash).await,
        "find_access_token",
    );
    assert_eq!(
        found.map(|(record, _)| record.cnf),
        Some(access.cnf.clone()),
        "the {what} access token must keep its planned binding"
    );
    let hash = refresh.map(|r| r.hash).unwrap_or(hash());
    assert_eq!(
        refresh_found(store, &hash)
            .await
            .map(|found| found.record.cnf),
        Some(refresh.and_then(|r| r.cnf.clone())),
        "the {what} refresh token must keep its planned binding"
    );
}

/// A device collection's planned bindings are stored with its tokens.
pub async fn device_collection_keeps_the_planned_bindings<S: DeviceAuthorizationStore + Clone>(
    store: S,
) {
    let t = now();
    let client = client_id("device-client");
    let record = device(&client, t);
    ok(
        store.save_device_authorization(record.clone()).await,
        "save_device_authorization",
    );
    let approve = DeviceDecision::Approve {
        subject: Subject::new("bob"),
        scope: scope("read"),
    };
    assert!(ok(
        store
            .decide_device_authorization(&record.device_code_hash, approve, t + SECOND)
            .await,
        "decide_device_authorization"
    ));
    let at = t + 10 * SECOND;
    let collection = DeviceCollection::new(
        GrantId::generate(),
        at + DAY,
        planned(at, 10 * MINUTE).with_confirmation(Some(jkt(4))),
        Some(planned(at, 6 * HOUR).with_confirmation(Some(jkt(4)))),
    );
    let polled = ok(
        store
            .poll_device_code(&record.device_code_hash, &client, at, &collection)
            .await,
        "poll_device_code",
    );
    assert!(
        polled.is_some_and(|p| p.collected.is_some()),
        "a poll of an approved device authorization must collect it"
    );
    assert_planned_bindings_stored(
        &store,
        &collection.access_token,
        collection.refresh_token.as_ref(),
        "collected",
    )
    .await;
}

/// A code bound to a DPoP key by `dpop_jkt` (RFC 9449 §10) is redeemed
/// only with a proof of that key: without one, or with another key, the
/// answer is `Refused` and nothing changes — a replay without the key does
/// not revoke the grant either. A pending request keeps its `dpop_jkt`.
pub async fn redeem_code_checks_its_dpop_jkt<S: AuthorizationCodeStore + Clone>(store: S) {
    let t = now();
    let client = client_id("client");
    let thumbprint = jkt(5);
    let bound = Arc::<str>::from(thumbprint.jwk_thumbprint().unwrap_or_default());
    let issued = Issued::code(&client, t)
        .with_code(|code| code.dpop_jkt = Some(bound.clone()))
        .create_code(&store)
        .await;
    let at = t + SECOND;
    for (proven, what) in [(None, "no key"), (Some(jkt(6)), "another key")] {
        let attempt = redemption(&client, at).with_proven_key(proven);
        assert_eq!(
            redeem(&store, &issued.code_hash(), &attempt).await,
            Redemption::Refused(Some(issued.found_code(false))),
            "redeem_code of a code bound by dpop_jkt proving {what} must be Refused, the code \
             as found (RFC 9449 §10)"
        );
    }
    let right = redemption(&client, at).with_proven_key(Some(thumbprint.clone()));
    assert_eq!(
        redeem(&store, &issued.code_hash(), &right).await,
        Redemption::Redeemed(issued.found_code(false)),
        "redeem_code of a code bound by dpop_jkt proving that key must be Redeemed"
    );
    let thief = redemption(&client, at + SECOND);
    assert_eq!(
        redeem(&store, &issued.code_hash(), &thief).await,
        Redemption::Refused(Some(issued.found_code(true))),
        "a redeemed code bound by dpop_jkt presented without its key must be Refused, not \
         treated as a replay"
    );
    assert!(
        ok(
            store.find_access_token(&right.access_token.hash).await,
            "find_access_token"
        )
        .is_some(),
        "a refusal for the key must not revoke the grant"
    );

    let mut request = pending(&client, t);
    request.dpop_jkt = Some(bound.clone());
    ok(store.save_pending(request.clone()).await, "save_pending");
    assert_eq!(
        ok(store.find_pending(&request.hash).await, "find_pending")
            .and_then(|found| found.dpop_jkt),
        Some(bound),
        "a pending request must keep its dpop_jkt"
    );
}
