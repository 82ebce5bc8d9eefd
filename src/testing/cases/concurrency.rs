//! The races: 32 tasks on the runtime's worker threads, released at
//! once against one code, refresh token, pending request, device
//! authorization or registration access token. Exactly one may win, and only
//! the winner's tokens may be stored. Each race is run 8 times, on
//! fresh records, since one run of a race may miss a narrow window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::client::ClientRegistry;
use super::device::collection;
use crate::store::{
    DeviceDecision, DeviceStatus, PolledDeviceCode, Redemption, Rotation, SLOW_DOWN_STEP, Subject,
    TokenStore,
};
use crate::testing::fixtures::{
    Issued, MINUTE, RACERS, ROUNDS, Racer, access, access_found, device, hash,
    managed_client, now, ok, pending, race, refresh, refresh_found, register_client, scope,
};
use crate::token::TokenHash;

/// Of 32 concurrent `update_client` calls presenting one
/// registration access token, each storing a new one, exactly one returns
/// `true`, and the stored client is the winner's.
pub async fn concurrent_client_updates_swap_once<S: TokenStore + ClientRegistry + Clone>(store: S) {
    for round in 0..ROUNDS {
        let id = format!("managed-{round}");
        let token = hash();
        ok(
            store
                .insert_client(managed_client(&id, token, "Original"))
                .await,
            "insert_client",
        );
        let updates: Vec<_> = (0..RACERS)
            .map(|i| managed_client(&id, hash(), &format!("Update {i}")))
            .collect();
        let tasks = updates
            .iter()
            .map(|update| {
                let (store, update) = (store.clone(), update.clone());
                Box::pin(async move {
                    ok(
                        store.update_client(update, Some(&token)).await,
                        "update_client",
                    )
                }) as Racer<bool>
            })
            .collect();
        let results = race(tasks).await;
        let winners: Vec<_> = (0..RACERS).filter(|i| results[*i]).collect();
        assert_eq!(
            winners.len(),
            1,
            "of {RACERS} concurrent update_client calls with one registration access token, \
             exactly one must succeed; {} did",
            winners.len()
        );
        let stored = ok(store.find_client(&id).await, "find_client");
        assert_eq!(
            stored.as_deref(),
            Some(&updates[winners[0]]),
            "the stored client must be the one whose update succeeded"
        );
    }
}

/// `create_grant` makes a grant's secrets visible together: a reader that
/// finds one of them finds the others, and once `create_grant` has returned
/// every reader finds all of them.
pub async fn create_grant_is_visible_at_once<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let client = register_client(&store, "client").await;
    for _ in 0..16 {
        let issued = Issued::access_and_refresh(&client, now());
        let created = Arc::new(AtomicBool::new(false));
        let mut tasks: Vec<Racer<()>> = Vec::new();
        {
            let (store, issued, created) = (store.clone(), issued.clone(), created.clone());
            tasks.push(Box::pin(async move {
                ok(store.create_grant(issued.new_grant()).await, "create_grant");
                created.store(true, Ordering::SeqCst);
            }));
        }
        for access_first in [true, false] {
            let (store, issued, created) = (store.clone(), issued.clone(), created.clone());
            tasks.push(Box::pin(async move {
                loop {
                    let returned = created.load(Ordering::SeqCst);
                    let (first, second) = if access_first {
                        let a = access_found(&store, &issued.access_hash()).await;
                        (
                            a,
                            refresh_found(&store, &issued.refresh_hash())
                                .await
                                .is_some(),
                        )
                    } else {
                        let r = refresh_found(&store, &issued.refresh_hash())
                            .await
                            .is_some();
                        (r, access_found(&store, &issued.access_hash()).await)
                    };
                    assert!(
                        !first || second,
                        "create_grant must be atomic: a reader found one of the grant's \
                         tokens and then not the other"
                    );
                    assert!(
                        !returned || first,
                        "after create_grant returned, its tokens must be found"
                    );
                    if first {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            }));
        }
        race(tasks).await;
    }
}

/// Of 32 concurrent `redeem_code` calls for one code, exactly one is
/// [`Redemption::Redeemed`] and the others [`Redemption::AlreadyRedeemed`];
/// only the winner's tokens are stored.
pub async fn concurrent_code_redemptions_redeem_once<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let client = register_client(&store, "client").await;
    for _ in 0..ROUNDS {
        let t = now();
        let issued = Issued::code(&client, t).create(&store).await;
        let code = issued.code_hash();
        let tokens: Vec<_> = (0..RACERS)
            .map(|_| (access(&issued.grant, t), refresh(&issued.grant, t)))
            .collect();
        let tasks = tokens
            .iter()
            .map(|(a, r)| {
                let (store, a, r) = (store.clone(), a.clone(), r.clone());
                Box::pin(
                    async move { ok(store.redeem_code(&code, a, Some(r)).await, "redeem_code") },
                ) as Racer<Redemption>
            })
            .collect();
        let results = race(tasks).await;
        let winners = count(&results, &Redemption::Redeemed);
        assert_eq!(
            winners, 1,
            "of {RACERS} concurrent redemptions of one code exactly one must be Redeemed; \
             got {results:?}"
        );
        assert_eq!(
            count(&results, &Redemption::AlreadyRedeemed),
            RACERS - 1,
            "the losers of a race to redeem one code must be AlreadyRedeemed; got {results:?}"
        );
        for ((a, r), result) in tokens.iter().zip(&results) {
            let won = *result == Redemption::Redeemed;
            assert_eq!(
                access_found(&store, &a.hash).await,
                won,
                "only the winning redemption's access token may be stored"
            );
            assert_eq!(
                refresh_found(&store, &r.hash).await.is_some(),
                won,
                "only the winning redemption's refresh token may be stored"
            );
        }
    }
}

/// Of 32 concurrent `rotate_refresh_token` calls for one refresh
/// token, exactly one is [`Rotation::Rotated`] and the others
/// [`Rotation::Reused`]; only the winner's tokens are stored.
pub async fn concurrent_rotations_rotate_once<S: TokenStore + ClientRegistry + Clone>(store: S) {
    let client = register_client(&store, "client").await;
    for _ in 0..ROUNDS {
        let t = now();
        let issued = Issued::access_and_refresh(&client, t).create(&store).await;
        let old = issued.refresh_hash();
        let tokens: Vec<_> = (0..RACERS)
            .map(|_| (refresh(&issued.grant, t), access(&issued.grant, t)))
            .collect();
        let tasks = tokens
            .iter()
            .map(|(r, a)| {
                let (store, r, a) = (store.clone(), r.clone(), a.clone());
                Box::pin(async move {
                    ok(
                        store.rotate_refresh_token(&old, r, a).await,
                        "rotate_refresh_token",
                    )
                }) as Racer<Rotation>
            })
            .collect();
        let results = race(tasks).await;
        assert_eq!(
            count(&results, &Rotation::Rotated),
            1,
            "of {RACERS} concurrent rotations of one refresh token exactly one must be Rotated; \
             got {results:?}"
        );
        assert_eq!(
            count(&results, &Rotation::Reused),
            RACERS - 1,
            "the losers of a race to rotate one refresh token must be Reused; got {results:?}"
        );
        for ((r, a), result) in tokens.iter().zip(&results) {
            let won = *result == Rotation::Rotated;
            assert_eq!(
                refresh_found(&store, &r.hash).await.map(|f| f.current),
                won.then_some(true),
                "only the winning rotation's refresh token may be stored, current"
            );
            assert_eq!(
                access_found(&store, &a.hash).await,
                won,
                "only the winning rotation's access token may be stored"
            );
        }
        assert_eq!(
            refresh_found(&store, &old).await.map(|f| f.current),
            Some(false),
            "after the race the old refresh token must be rotated out"
        );
    }
}

/// Revoking a grant while four tasks keep rotating its refresh
/// token: afterwards nothing of the grant is found — no access or refresh
/// token any rotation stored, before or after the revocation — and every
/// rotation that began after `revoke_grant` returned was
/// [`Rotation::Unknown`].
pub async fn revoke_grant_racing_rotation_leaves_nothing<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let client = register_client(&store, "client").await;
    for round in 0..16_usize {
        let t = now();
        let issued = Issued::access_and_refresh(&client, t).create(&store).await;
        let revoked = Arc::new(AtomicBool::new(false));
        let mut tasks: Vec<Racer<Vec<TokenHash>>> = Vec::new();
        for _ in 0..RACERS / 8 {
            let (store, issued, revoked) = (store.clone(), issued.clone(), revoked.clone());
            // Each rotator follows its own chain from the first token; the
            // one that wins a step goes on, the others stop at Reused.
            tasks.push(Box::pin(async move {
                let mut stored = Vec::new();
                let mut current = issued.refresh_hash();
                for step in 0..100_u32 {
                    let at = t + MINUTE * step;
                    let (r, a) = (refresh(&issued.grant, at), access(&issued.grant, at));
                    stored.extend([r.hash, a.hash]);
                    let after_revocation = revoked.load(Ordering::SeqCst);
                    let next = r.hash;
                    let rotation = ok(
                        store.rotate_refresh_token(&current, r, a).await,
                        "rotate_refresh_token",
                    );
                    assert!(
                        !after_revocation || rotation == Rotation::Unknown,
                        "a rotation begun after revoke_grant returned must be Unknown, \
                         got {rotation:?}"
                    );
                    match rotation {
                        Rotation::Rotated => current = next,
                        _ => break,
                    }
                    tokio::task::yield_now().await;
                }
                stored
            }));
        }
        {
            let (store, grant, revoked) = (store.clone(), issued.grant.id, revoked.clone());
            tasks.push(Box::pin(async move {
                for _ in 0..round {
                    tokio::task::yield_now().await;
                }
                assert!(
                    ok(store.revoke_grant(&grant).await, "revoke_grant"),
                    "revoke_grant of a stored grant must return true"
                );
                revoked.store(true, Ordering::SeqCst);
                Vec::new()
            }));
        }
        let stored: Vec<TokenHash> = race(tasks).await.into_iter().flatten().collect();
        for hash in stored
            .iter()
            .chain([&issued.access_hash(), &issued.refresh_hash()])
        {
            assert!(
                !access_found(&store, hash).await && refresh_found(&store, hash).await.is_none(),
                "after revoke_grant raced with rotations, a token of the grant was still \
                 found (round {round})"
            );
        }
    }
}

/// Of 32 concurrent `take_pending` calls for one request, exactly one
/// gets it, as saved.
pub async fn concurrent_takes_of_a_pending_request_take_once<
    S: TokenStore + ClientRegistry + Clone,
>(
    store: S,
) {
    let client = register_client(&store, "client").await;
    for _ in 0..ROUNDS {
        let saved = pending(&client, now());
        ok(store.save_pending(saved.clone()).await, "save_pending");
        let tasks = (0..RACERS)
            .map(|_| {
                let (store, hash) = (store.clone(), saved.hash);
                Box::pin(async move { ok(store.take_pending(&hash).await, "take_pending") })
                    as Racer<_>
            })
            .collect();
        let taken: Vec<_> = race(tasks).await.into_iter().flatten().collect();
        assert_eq!(
            taken.len(),
            1,
            "of {RACERS} concurrent take_pending calls for one request exactly one must get it; \
             {} did",
            taken.len()
        );
        assert_eq!(
            taken[0], saved,
            "take_pending must return the request as saved"
        );
    }
}

/// Of 32 concurrent polls of one device code at one instant, each
/// sees the one before it: exactly one is not too fast, and the interval grows
/// by [`SLOW_DOWN_STEP`] for each of the others.
pub async fn concurrent_device_polls_are_serialised<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let client = register_client(&store, "device-client").await;
    for _ in 0..ROUNDS {
        let t = now();
        let record = device(&client, t);
        ok(
            store.save_device_authorization(record.clone()).await,
            "save_device_authorization",
        );
        let at = t + MINUTE;
        let tasks = (0..RACERS)
            .map(|_| {
                let (store, client, hash) =
                    (store.clone(), client.clone(), record.device_code_hash);
                Box::pin(async move {
                    ok(
                        store
                            .poll_device_code(&hash, &client, at, &collection(t))
                            .await,
                        "poll_device_code",
                    )
                    .unwrap()
                }) as Racer<PolledDeviceCode>
            })
            .collect();
        let polls = race(tasks).await;
        let patient = polls.iter().filter(|p| !p.too_fast).count();
        assert_eq!(
            patient, 1,
            "of {RACERS} concurrent polls at one instant exactly one may be not too fast \
             (concurrent polls are serialised); {patient} were"
        );
        let mut intervals: Vec<_> = polls.iter().map(|p| p.record.interval).collect();
        intervals.sort();
        let expected: Vec<_> = (0..RACERS)
            .map(|i| record.interval + SLOW_DOWN_STEP * u32::try_from(i).unwrap())
            .collect();
        assert_eq!(
            intervals, expected,
            "each of {RACERS} concurrent polls must see the one before it: the intervals they \
             return must grow by SLOW_DOWN_STEP each"
        );
    }
}

/// Of 32 concurrent decisions on one device authorization (half
/// approvals, half denials), exactly one returns `true`, and the status is
/// that decision's.
pub async fn concurrent_device_decisions_decide_once<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let client = register_client(&store, "device-client").await;
    for _ in 0..ROUNDS {
        let t = now();
        let record = device(&client, t);
        ok(
            store.save_device_authorization(record.clone()).await,
            "save_device_authorization",
        );
        let decisions: Vec<_> = (0..RACERS)
            .map(|i| {
                if i % 2 == 0 {
                    DeviceDecision::Approve {
                        subject: Subject::new(&format!("user-{i}")),
                        scope: scope("read"),
                    }
                } else {
                    DeviceDecision::Deny
                }
            })
            .collect();
        let tasks = decisions
            .iter()
            .map(|decision| {
                let (store, hash, decision) =
                    (store.clone(), record.device_code_hash, decision.clone());
                Box::pin(async move {
                    ok(
                        store
                            .decide_device_authorization(&hash, decision, t + MINUTE)
                            .await,
                        "decide_device_authorization",
                    )
                }) as Racer<bool>
            })
            .collect();
        let results = race(tasks).await;
        let winners: Vec<_> = (0..RACERS).filter(|i| results[*i]).collect();
        assert_eq!(
            winners.len(),
            1,
            "of {RACERS} concurrent decisions on one device authorization exactly one must \
             return true; {} did",
            winners.len()
        );
        let expected = match &decisions[winners[0]] {
            DeviceDecision::Approve { subject, scope } => DeviceStatus::Approved {
                subject: subject.clone(),
                scope: scope.clone(),
            },
            _ => DeviceStatus::Denied,
        };
        let status = ok(
            store
                .find_device_authorization(&record.user_code_hash)
                .await,
            "find_device_authorization",
        )
        .map(|r| r.status);
        assert_eq!(
            status,
            Some(expected),
            "the status must be the winning decision's"
        );
    }
}

/// Of 32 concurrent polls of one approved device authorization, each
/// offering its own collection, exactly one collects it; every other sees it
/// redeemed under the winner's grant id, stores nothing, and — a replay —
/// revokes the winner's grant.
pub async fn concurrent_device_polls_collect_once<S: TokenStore + ClientRegistry + Clone>(
    store: S,
) {
    let client = register_client(&store, "device-client").await;
    for _ in 0..ROUNDS {
        let t = now();
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
                .decide_device_authorization(&record.device_code_hash, approve, t)
                .await,
            "decide_device_authorization"
        ));
        let at = t + MINUTE;
        let offers: Vec<_> = (0..RACERS).map(|_| collection(at)).collect();
        let tasks = offers
            .iter()
            .map(|offer| {
                let (store, client, hash, offer) = (
                    store.clone(),
                    client.clone(),
                    record.device_code_hash,
                    offer.clone(),
                );
                Box::pin(async move {
                    ok(
                        store.poll_device_code(&hash, &client, at, &offer).await,
                        "poll_device_code",
                    )
                    .unwrap()
                }) as Racer<PolledDeviceCode>
            })
            .collect();
        let polls = race(tasks).await;
        let winners: Vec<_> = (0..RACERS)
            .filter(|i| polls[*i].collected.is_some())
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "of {RACERS} concurrent polls of one approved device authorization exactly one \
             must collect it; {} did",
            winners.len()
        );
        let winner = &offers[winners[0]];
        let redeemed = DeviceStatus::Redeemed {
            grant_id: winner.grant_id,
        };
        assert!(
            polls.iter().all(|p| p.record.status == redeemed),
            "every poll of the race must find the device authorization redeemed under the \
             winner's grant id"
        );
        for (i, offer) in offers.iter().enumerate() {
            if i != winners[0] {
                assert!(
                    !access_found(&store, &offer.access_token.hash).await
                        && !ok(store.revoke_grant(&offer.grant_id).await, "revoke_grant"),
                    "a poll that lost the race must store nothing"
                );
            }
        }
        assert!(
            !access_found(&store, &winner.access_token.hash).await,
            "the polls after the winner's are replays: the winner's grant must be revoked"
        );
    }
}

fn count<T: PartialEq>(results: &[T], value: &T) -> usize {
    results.iter().filter(|r| *r == value).count()
}
