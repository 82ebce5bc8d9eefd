//! Device authorizations (RFC 8628): unique live user codes, one decision,
//! polls recorded, one redemption.

use std::time::Duration;

use crate::client::ClientRegistry;
use crate::store::{
    DeviceAuthorizationRecord, DeviceDecision, DeviceRedemption, DeviceStatus, PolledDeviceCode,
    SLOW_DOWN_STEP, StoreError, Subject, TokenStore,
};
use crate::testing::fixtures::{
    Issued, MINUTE, access_found, device, device_grant, hash, now, ok, refresh_found,
    register_client, scope,
};
use crate::token::TokenHash;

async fn found<S: TokenStore>(
    store: &S,
    user_code_hash: &TokenHash,
) -> Option<DeviceAuthorizationRecord> {
    ok(
        store.find_device_authorization(user_code_hash).await,
        "find_device_authorization",
    )
}

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `find_device_authorization` returns a saved device authorization, by its
/// user code hash, exactly as saved; not by its device code hash, and `None`
/// for a user code never saved.
pub async fn device_save_and_find<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "device-client").await;
    let record = device(&client, t);
    let mut narrow = device(&client, t);
    narrow.scope = scope("read");
    narrow.interval = seconds(7);
    for r in [&record, &narrow] {
        ok(
            store.save_device_authorization(r.clone()).await,
            "save_device_authorization",
        );
    }
    assert_eq!(
        found(&store, &record.user_code_hash).await,
        Some(record.clone()),
        "find_device_authorization must return the device authorization exactly as saved"
    );
    assert_eq!(
        found(&store, &narrow.user_code_hash).await,
        Some(narrow),
        "find_device_authorization must return the device authorization exactly as saved"
    );
    assert_eq!(
        found(&store, &record.device_code_hash).await,
        None,
        "find_device_authorization looks up by user code hash, not by device code hash"
    );
    assert_eq!(
        found(&store, &hash()).await,
        None,
        "find_device_authorization of a user code never saved must return None"
    );
    assert_eq!(
        found(&store, &record.user_code_hash).await,
        Some(record),
        "find_device_authorization must change nothing"
    );
}

/// `save_device_authorization` fails with [`StoreError::Conflict`], storing
/// nothing, when a live device authorization has the same user code hash or
/// the same device code hash. One whose holder has expired may replace it;
/// if it does, the user code finds the new one.
pub async fn device_save_conflicts_on_live_codes<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "device-client").await;
    let holder = device(&client, t);
    ok(
        store.save_device_authorization(holder.clone()).await,
        "save_device_authorization",
    );

    let mut same_user_code = device(&client, t + seconds(1));
    same_user_code.user_code_hash = holder.user_code_hash;
    let result = store
        .save_device_authorization(same_user_code.clone())
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "save_device_authorization with the user code of a live one must fail with \
         StoreError::Conflict, got {result:?}"
    );
    assert_eq!(
        found(&store, &holder.user_code_hash).await,
        Some(holder.clone()),
        "a conflicting save_device_authorization must leave the holder of the user code"
    );
    assert!(
        ok(
            store
                .poll_device_code(&same_user_code.device_code_hash, &client, t + seconds(2))
                .await,
            "poll_device_code"
        )
        .is_none(),
        "a conflicting save_device_authorization must store nothing"
    );

    let mut same_device_code = device(&client, t + seconds(1));
    same_device_code.device_code_hash = holder.device_code_hash;
    let result = store
        .save_device_authorization(same_device_code.clone())
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "save_device_authorization with the device code of a live one must fail with \
         StoreError::Conflict, got {result:?}"
    );
    assert_eq!(
        found(&store, &same_device_code.user_code_hash).await,
        None,
        "a conflicting save_device_authorization must store nothing"
    );
    assert_eq!(
        found(&store, &holder.user_code_hash).await,
        Some(holder),
        "a conflicting save_device_authorization must leave the holder of the device code"
    );

    // A user code whose holder has expired may be given out again.
    let old = device(&client, t - 30 * MINUTE);
    ok(
        store.save_device_authorization(old.clone()).await,
        "save_device_authorization",
    );
    let mut reuse = device(&client, t);
    reuse.user_code_hash = old.user_code_hash;
    match store.save_device_authorization(reuse.clone()).await {
        Ok(()) => assert_eq!(
            found(&store, &reuse.user_code_hash).await,
            Some(reuse),
            "after replacing an expired holder of a user code, find_device_authorization \
             must return the new device authorization"
        ),
        Err(StoreError::Conflict) => {}
        Err(error) => panic!("save_device_authorization failed with {error:?}"),
    }
}

/// `decide_device_authorization` applies a decision to a pending, unexpired
/// device authorization once and returns `true`; later decisions, decisions
/// at or after expiry and decisions on unknown device codes return `false`
/// and change nothing.
pub async fn device_decide_once<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "device-client").await;
    let approved = device(&client, t);
    let denied = device(&client, t);
    let expired = device(&client, t);
    for r in [&approved, &denied, &expired] {
        ok(
            store.save_device_authorization(r.clone()).await,
            "save_device_authorization",
        );
    }
    let decide = |record: &DeviceAuthorizationRecord, decision: DeviceDecision, at| {
        let store = store.clone();
        let hash = record.device_code_hash;
        async move {
            ok(
                store.decide_device_authorization(&hash, decision, at).await,
                "decide_device_authorization",
            )
        }
    };
    let approve = |user: &str| DeviceDecision::Approve {
        subject: Subject::new(user),
        scope: scope("read"),
    };
    let alice_approved = DeviceStatus::Approved {
        subject: Subject::new("alice"),
        scope: scope("read"),
    };

    assert!(
        decide(&approved, approve("alice"), t + seconds(1)).await,
        "decide_device_authorization of a pending device authorization must return true"
    );
    assert_eq!(
        found(&store, &approved.user_code_hash).await,
        Some(DeviceAuthorizationRecord {
            status: alice_approved.clone(),
            ..approved.clone()
        }),
        "an approval must set the status to Approved with its subject and scope, and \
         change nothing else"
    );
    assert!(
        !decide(&approved, DeviceDecision::Deny, t + seconds(2)).await
            && !decide(&approved, approve("mallory"), t + seconds(2)).await,
        "decide_device_authorization of a decided device authorization must return false"
    );
    assert_eq!(
        found(&store, &approved.user_code_hash)
            .await
            .map(|r| r.status),
        Some(alice_approved),
        "a second decision must change nothing"
    );

    assert!(
        decide(&denied, DeviceDecision::Deny, t + seconds(1)).await,
        "decide_device_authorization of a pending device authorization must return true"
    );
    assert!(
        !decide(&denied, approve("alice"), t + seconds(2)).await,
        "a denied device authorization cannot be approved"
    );
    assert_eq!(
        found(&store, &denied.user_code_hash)
            .await
            .map(|r| r.status),
        Some(DeviceStatus::Denied),
        "a denial must set the status to Denied, once"
    );

    assert!(
        !decide(&expired, approve("alice"), expired.expires_at).await,
        "decide_device_authorization at its expiry must return false"
    );
    assert_eq!(
        found(&store, &expired.user_code_hash).await,
        Some(expired),
        "a decision after expiry must change nothing"
    );

    let mut unknown = device(&client, t);
    unknown.device_code_hash = hash();
    assert!(
        !decide(&unknown, approve("alice"), t).await,
        "decide_device_authorization of an unknown device code must return false"
    );
}

/// `poll_device_code` records each poll by the device's client and returns
/// the record as the poll left it: a poll less than `interval` after the
/// previous one is too fast and grows the interval by [`SLOW_DOWN_STEP`];
/// `last_polled_at` becomes the poll's time unless it is later already,
/// whatever the status. Polls by another client or with an unknown device
/// code return `None` and change nothing.
pub async fn device_poll_records_slow_down<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "device-client").await;
    let intruder = register_client(&store, "intruder").await;
    let record = device(&client, t);
    ok(
        store.save_device_authorization(record.clone()).await,
        "save_device_authorization",
    );
    let poll = |by: &crate::client::ClientId, at| {
        let store = store.clone();
        let (hash, by) = (record.device_code_hash, by.clone());
        async move {
            ok(
                store.poll_device_code(&hash, &by, at).await,
                "poll_device_code",
            )
        }
    };

    assert_eq!(
        poll(&intruder, t + seconds(1)).await,
        None,
        "poll_device_code by another client must return None"
    );
    assert!(
        ok(
            store.poll_device_code(&hash(), &client, t).await,
            "poll_device_code"
        )
        .is_none(),
        "poll_device_code of an unknown device code must return None"
    );
    assert_eq!(
        found(&store, &record.user_code_hash).await,
        Some(record.clone()),
        "a poll by another client must change nothing"
    );

    let interval = record.interval;
    let expect = |at, interval, too_fast| PolledDeviceCode {
        record: DeviceAuthorizationRecord {
            last_polled_at: Some(at),
            interval,
            ..record.clone()
        },
        too_fast,
    };
    let steps = [
        // The first poll is never too fast.
        (t + seconds(1), t + seconds(1), interval, false),
        // 2 s after the previous one, with a 5 s interval.
        (
            t + seconds(3),
            t + seconds(3),
            interval + SLOW_DOWN_STEP,
            true,
        ),
        // Exactly the grown interval after the previous one.
        (
            t + seconds(3) + interval + SLOW_DOWN_STEP,
            t + seconds(3) + interval + SLOW_DOWN_STEP,
            interval + SLOW_DOWN_STEP,
            false,
        ),
        // A poll reading an earlier time than the last one raced it: too
        // fast, and the last poll time does not go back.
        (
            t + seconds(4),
            t + seconds(3) + interval + SLOW_DOWN_STEP,
            interval + 2 * SLOW_DOWN_STEP,
            true,
        ),
    ];
    for (at, last, interval, too_fast) in steps {
        let polled = poll(&client, at).await;
        assert_eq!(
            polled,
            Some(expect(last, interval, too_fast)),
            "poll_device_code must record the poll: too_fast = {too_fast}, interval {interval:?}"
        );
        assert_eq!(
            found(&store, &record.user_code_hash).await,
            polled.map(|p| p.record),
            "the record poll_device_code returns must be the one stored"
        );
    }

    // Whatever the status.
    let approve = DeviceDecision::Approve {
        subject: Subject::new("alice"),
        scope: scope("read"),
    };
    let later = t + 2 * MINUTE;
    assert!(ok(
        store
            .decide_device_authorization(&record.device_code_hash, approve, later)
            .await,
        "decide_device_authorization"
    ));
    let polled = poll(&client, later).await.map(|p| {
        (
            p.record.last_polled_at,
            matches!(p.record.status, DeviceStatus::Approved { .. }),
        )
    });
    assert_eq!(
        polled,
        Some((Some(later), true)),
        "poll_device_code must record polls of an approved device authorization too"
    );
}

/// `redeem_device_code` of an approved device authorization is
/// [`DeviceRedemption::Redeemed`]: it becomes redeemed under the new grant's
/// id, the grant and its tokens are stored as by `create_grant`, and polls
/// still find it. A second redemption is
/// [`DeviceRedemption::AlreadyRedeemed`] with the first grant's id; pending
/// and denied ones are [`DeviceRedemption::NotApproved`], unknown ones
/// [`DeviceRedemption::Unknown`]; none of those stores anything.
pub async fn device_redeem_once<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let t = now();
    let client = register_client(&store, "device-client").await;
    let record = device(&client, t);
    let denied = device(&client, t);
    for r in [&record, &denied] {
        ok(
            store.save_device_authorization(r.clone()).await,
            "save_device_authorization",
        );
    }
    let redeem = |device_code: TokenHash, at| {
        let store = store.clone();
        let client = client.clone();
        async move {
            let issued = device_grant(&client, at);
            let redemption = ok(
                store
                    .redeem_device_code(&device_code, issued.new_grant())
                    .await,
                "redeem_device_code",
            );
            (redemption, issued)
        }
    };
    let nothing_stored = |issued: Issued| {
        let store = store.clone();
        async move {
            !access_found(&store, &issued.access_hash()).await
                && refresh_found(&store, &issued.refresh_hash())
                    .await
                    .is_none()
                && !ok(store.revoke_grant(&issued.grant.id).await, "revoke_grant")
        }
    };

    let (redemption, issued) = redeem(hash(), t).await;
    assert_eq!(
        redemption,
        DeviceRedemption::Unknown,
        "redeem_device_code of an unknown device code must be Unknown"
    );
    assert!(
        nothing_stored(issued).await,
        "after Unknown, redeem_device_code must have stored nothing"
    );
    let (redemption, issued) = redeem(record.device_code_hash, t).await;
    assert_eq!(
        redemption,
        DeviceRedemption::NotApproved,
        "redeem_device_code of a pending device authorization must be NotApproved"
    );
    assert!(
        nothing_stored(issued).await,
        "after NotApproved, redeem_device_code must have stored nothing"
    );

    let approve = DeviceDecision::Approve {
        subject: Subject::new("bob"),
        scope: scope("read"),
    };
    for r in [&record, &denied] {
        let decision = if r == &record {
            approve.clone()
        } else {
            DeviceDecision::Deny
        };
        assert!(ok(
            store
                .decide_device_authorization(&r.device_code_hash, decision, t + seconds(1))
                .await,
            "decide_device_authorization"
        ));
    }
    let (redemption, refused) = redeem(denied.device_code_hash, t + seconds(2)).await;
    assert_eq!(
        redemption,
        DeviceRedemption::NotApproved,
        "redeem_device_code of a denied device authorization must be NotApproved"
    );
    assert!(
        nothing_stored(refused).await,
        "after NotApproved, redeem_device_code must have stored nothing"
    );

    let (redemption, winner) = redeem(record.device_code_hash, t + seconds(2)).await;
    assert_eq!(
        redemption,
        DeviceRedemption::Redeemed,
        "redeem_device_code of an approved device authorization must be Redeemed"
    );
    assert_eq!(
        ok(
            store.find_access_token(&winner.access_hash()).await,
            "find_access_token"
        ),
        Some((winner.access.clone().unwrap(), winner.grant.clone())),
        "after Redeemed, the grant and its access token must be found as stored"
    );
    assert!(
        refresh_found(&store, &winner.refresh_hash())
            .await
            .is_some_and(|r| r.current && r.grant == winner.grant),
        "after Redeemed, the grant's refresh token must be found, current"
    );
    let redeemed = DeviceStatus::Redeemed {
        grant_id: winner.grant.id,
    };
    assert_eq!(
        found(&store, &record.user_code_hash)
            .await
            .map(|r| r.status),
        Some(redeemed.clone()),
        "after Redeemed, the status must be Redeemed with the new grant's id"
    );
    assert_eq!(
        ok(
            store
                .poll_device_code(&record.device_code_hash, &client, t + MINUTE)
                .await,
            "poll_device_code"
        )
        .map(|p| p.record.status),
        Some(redeemed.clone()),
        "a redeemed device authorization must stay findable by poll_device_code"
    );

    let (redemption, loser) = redeem(record.device_code_hash, t + 2 * MINUTE).await;
    assert_eq!(
        redemption,
        DeviceRedemption::AlreadyRedeemed(winner.grant.id),
        "redeem_device_code of a redeemed device authorization must be AlreadyRedeemed \
         with the first grant's id"
    );
    assert!(
        nothing_stored(loser).await,
        "after AlreadyRedeemed, redeem_device_code must have stored nothing"
    );
    assert!(
        !ok(
            store
                .decide_device_authorization(
                    &record.device_code_hash,
                    DeviceDecision::Deny,
                    t + 2 * MINUTE
                )
                .await,
            "decide_device_authorization"
        ),
        "decide_device_authorization of a redeemed device authorization must return false"
    );
    assert!(
        access_found(&store, &winner.access_hash()).await,
        "a failed redemption must leave the first one's tokens"
    );
}
