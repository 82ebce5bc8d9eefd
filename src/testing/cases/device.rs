//! Device authorizations (RFC 8628): unique live user codes, one decision,
//! polls recorded, one collection.

use std::time::{Duration, SystemTime};

use crate::client::ClientId;
use crate::protocol::ResourceSet;
use crate::store::{
    AccessTokenRecord, DeviceAuthorizationRecord, DeviceAuthorizationStore, DeviceCollection,
    DeviceDecision, DeviceStatus, GrantId, GrantRecord, PlannedToken, PolledDeviceCode,
    SLOW_DOWN_STEP, StoreError, Subject,
};
use crate::testing::fixtures::{
    MINUTE, access_found, client_id, device, hash, now, ok, refresh_found, scope,
};
use crate::token::TokenHash;

async fn found<S: DeviceAuthorizationStore>(
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

/// What a poll at `at` collects: a grant ending five minutes later, with an
/// access token planned for ten and a refresh token for an hour — both
/// beyond the grant, so a store must cap them.
pub(crate) fn collection(at: SystemTime) -> DeviceCollection {
    DeviceCollection::new(
        GrantId::generate(),
        at + 5 * MINUTE,
        PlannedToken::new(hash(), at + 10 * MINUTE),
        Some(PlannedToken::new(hash(), at + 60 * MINUTE)),
    )
}

/// Polls with `device_code` as `client` at `at`, offering `collection`.
async fn poll<S: DeviceAuthorizationStore>(
    store: &S,
    device_code: &TokenHash,
    client: &ClientId,
    at: SystemTime,
    collection: &DeviceCollection,
) -> Option<PolledDeviceCode> {
    ok(
        store
            .poll_device_code(device_code, client, at, collection)
            .await,
        "poll_device_code",
    )
}

/// Whether nothing of `collection` was stored: neither token is found and
/// its grant does not exist.
async fn nothing_collected<S: DeviceAuthorizationStore>(
    store: &S,
    collection: &DeviceCollection,
) -> bool {
    let refresh = collection.refresh_token.as_ref().map(|t| t.hash);
    !access_found(store, &collection.access_token.hash).await
        && match refresh {
            Some(hash) => refresh_found(store, &hash).await.is_none(),
            None => true,
        }
        && !ok(
            store.revoke_grant(&collection.grant_id).await,
            "revoke_grant",
        )
}

/// `find_device_authorization` returns a saved device authorization, by its
/// user code hash, exactly as saved; not by its device code hash, and `None`
/// for a user code never saved.
pub async fn device_save_and_find<S: DeviceAuthorizationStore + Clone>(store: S) {
    let t = now();
    let client = client_id("device-client");
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
pub async fn device_save_conflicts_on_live_codes<S: DeviceAuthorizationStore + Clone>(store: S) {
    let t = now();
    let client = client_id("device-client");
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
        poll(
            &store,
            &same_user_code.device_code_hash,
            &client,
            t + seconds(2),
            &collection(t)
        )
        .await
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
pub async fn device_decide_once<S: DeviceAuthorizationStore + Clone>(store: S) {
    let t = now();
    let client = client_id("device-client");
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
pub async fn device_poll_records_slow_down<S: DeviceAuthorizationStore + Clone>(store: S) {
    let t = now();
    let client = client_id("device-client");
    let intruder = client_id("intruder");
    let record = device(&client, t);
    ok(
        store.save_device_authorization(record.clone()).await,
        "save_device_authorization",
    );
    let offered = collection(t);
    let poll = |by: &ClientId, at| {
        let store = store.clone();
        let (hash, by, offered) = (record.device_code_hash, by.clone(), offered.clone());
        async move { poll(&store, &hash, &by, at, &offered).await }
    };

    assert_eq!(
        poll(&intruder, t + seconds(1)).await,
        None,
        "poll_device_code by another client must return None"
    );
    assert!(
        self::poll(&store, &hash(), &client, t, &offered)
            .await
            .is_none(),
        "poll_device_code of an unknown device code must return None"
    );
    assert_eq!(
        found(&store, &record.user_code_hash).await,
        Some(record.clone()),
        "a poll by another client must change nothing"
    );

    let interval = record.interval;
    let expect = |at, interval, too_fast| {
        PolledDeviceCode::new(
            DeviceAuthorizationRecord {
                last_polled_at: Some(at),
                interval,
                ..record.clone()
            },
            too_fast,
            None,
        )
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
    let polled = poll(&client, later)
        .await
        .map(|p| (p.record.last_polled_at, p.record.status));
    assert_eq!(
        polled,
        Some((
            Some(later),
            DeviceStatus::Redeemed {
                grant_id: offered.grant_id
            }
        )),
        "poll_device_code must record the poll that collects an approval too"
    );
}

/// `poll_device_code` collects an approved, unexpired device authorization
/// in the same atomic operation: the status becomes
/// [`DeviceStatus::Redeemed`] under the collection's grant id, the grant (the
/// record's client, the approving user, the approved scope) and its tokens
/// are stored as [`DeviceCollection::new_grant`] builds them — expiries
/// capped at the grant's — and [`PolledDeviceCode::collected`] is the grant.
/// Pending, denied and expired approvals collect nothing; another client's
/// poll finds nothing. A poll after the collection is a replay: it collects
/// nothing and revokes the grant, killing its tokens.
pub async fn device_poll_collects_once<S: DeviceAuthorizationStore + Clone>(store: S) {
    let t = now();
    let client = client_id("device-client");
    let intruder = client_id("intruder");
    let record = device(&client, t);
    let denied = device(&client, t);
    let late = device(&client, t);
    for r in [&record, &denied, &late] {
        ok(
            store.save_device_authorization(r.clone()).await,
            "save_device_authorization",
        );
    }

    let offered = collection(t);
    assert!(
        poll(&store, &hash(), &client, t, &offered).await.is_none()
            && nothing_collected(&store, &offered).await,
        "poll_device_code of an unknown device code must return None and store nothing"
    );
    let pending = poll(&store, &record.device_code_hash, &client, t, &offered).await;
    assert!(
        pending.is_some_and(|p| p.collected.is_none() && p.record.status == DeviceStatus::Pending)
            && nothing_collected(&store, &offered).await,
        "a poll of a pending device authorization must collect nothing"
    );

    let approve = DeviceDecision::Approve {
        subject: Subject::new("bob"),
        scope: scope("read"),
    };
    for (r, decision) in [
        (&record, approve.clone()),
        (&late, approve.clone()),
        (&denied, DeviceDecision::Deny),
    ] {
        assert!(ok(
            store
                .decide_device_authorization(&r.device_code_hash, decision, t + seconds(1))
                .await,
            "decide_device_authorization"
        ));
    }
    let at = t + seconds(10);
    let refused = poll(&store, &denied.device_code_hash, &client, at, &offered).await;
    assert!(
        refused.is_some_and(|p| p.collected.is_none() && p.record.status == DeviceStatus::Denied)
            && nothing_collected(&store, &offered).await,
        "a poll of a denied device authorization must collect nothing"
    );
    let expired = poll(
        &store,
        &late.device_code_hash,
        &client,
        late.expires_at,
        &offered,
    )
    .await;
    assert!(
        expired
            .is_some_and(|p| p.collected.is_none()
                && matches!(p.record.status, DeviceStatus::Approved { .. }))
            && nothing_collected(&store, &offered).await,
        "a poll at or after expiry must not collect an approval"
    );
    assert!(
        poll(&store, &record.device_code_hash, &intruder, at, &offered)
            .await
            .is_none()
            && nothing_collected(&store, &offered).await,
        "another client's poll must find nothing and collect nothing"
    );

    let collected = poll(&store, &record.device_code_hash, &client, at, &offered).await;
    let grant = GrantRecord {
        id: offered.grant_id,
        client_id: client.clone(),
        subject: Some(Subject::new("bob")),
        scope: scope("read"),
        resources: ResourceSet::empty(),
        authorization_details: crate::protocol::AuthorizationDetails::empty(),
        openid: None,
        created_at: at,
        expires_at: offered.grant_expires_at,
    };
    let redeemed = DeviceStatus::Redeemed { grant_id: grant.id };
    assert_eq!(
        collected.as_ref().map(|p| (&p.collected, &p.record.status)),
        Some((&Some(grant.clone()), &redeemed)),
        "a poll of an approved device authorization must collect it: the grant is the \
         client's, for the approving user with the approved scope, and the status is \
         Redeemed under the collection's grant id"
    );
    let access = AccessTokenRecord {
        hash: offered.access_token.hash,
        grant_id: grant.id,
        scope: scope("read"),
        audience: ResourceSet::empty(),
        issued_at: at,
        expires_at: grant.expires_at,
        exchange: None,
        cnf: None,
        authorization_details: crate::protocol::AuthorizationDetails::empty(),
    };
    assert_eq!(
        ok(
            store.find_access_token(&access.hash).await,
            "find_access_token"
        ),
        Some((access, grant.clone())),
        "the collected access token must be stored with the approved scope, its expiry \
         capped at the grant's"
    );
    let refresh_hash = offered.refresh_token.as_ref().map(|t| t.hash);
    let refresh = match refresh_hash {
        Some(hash) => refresh_found(&store, &hash).await,
        None => None,
    };
    assert!(
        refresh.is_some_and(|r| r.current
            && r.grant == grant
            && r.record.scope == scope("read")
            && r.record.expires_at == grant.expires_at),
        "the collected refresh token must be stored, current, its expiry capped at the grant's"
    );
    assert_eq!(
        found(&store, &record.user_code_hash)
            .await
            .map(|r| r.status),
        Some(redeemed.clone()),
        "after collecting, the status must be Redeemed with the new grant's id"
    );

    let again = collection(t);
    let replay = poll(
        &store,
        &record.device_code_hash,
        &client,
        at + MINUTE,
        &again,
    )
    .await;
    assert_eq!(
        replay.map(|p| (p.collected, p.record.status)),
        Some((None, redeemed)),
        "a poll after the collection must collect nothing and still find it Redeemed"
    );
    assert!(
        nothing_collected(&store, &again).await,
        "a replayed poll must store nothing"
    );
    assert!(
        !access_found(&store, &offered.access_token.hash).await,
        "a replayed poll must revoke the collected grant and its tokens"
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
}
