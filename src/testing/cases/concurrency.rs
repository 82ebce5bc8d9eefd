//! The races: 32 tasks on the runtime's worker threads, released at
//! once against one code, refresh token, pending request, device
//! authorization or registration access token. Exactly one may win, and only
//! the winner's tokens may be stored. Each race is run 8 times, on
//! fresh records, since one run of a race may miss a narrow window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::device::collection;
use crate::client::{ClientRegistry, RegistrationQuota};
use crate::store::{
    AuthorizationCodeStore, DeviceAuthorizationStore, DeviceDecision, DeviceStatus, GrantStore,
    PolledDeviceCode, Redemption, Rotation, SLOW_DOWN_STEP, Subject,
};
use crate::testing::fixtures::{
    Issued, MINUTE, RACERS, ROUNDS, Racer, access_found, client_id, code_found, device, hash,
    managed_client, now, ok, pending, race, redeem, redemption, redemption_stored, refresh_found,
    rotate, rotation, rotation_stored, scope,
};
use crate::token::TokenHash;

/// How many times the two-racer races are run: a loser is in the window
/// that matters — deciding on what it read before the winner wrote — in
/// only some rounds.
const PAIR_ROUNDS: usize = 4 * ROUNDS;

/// Of 32 concurrent `update_client` calls presenting one
/// registration access token, each storing a new one, exactly one returns
/// `true`, and the stored client is the winner's.
pub async fn concurrent_client_updates_swap_once<S: ClientRegistry + Clone>(store: S) {
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

/// Of 32 concurrent `insert_client_within_quota` calls for one registrant
/// with room for 5 more clients, exactly 5 store their client, and exactly
/// the winners' clients are stored.
pub async fn concurrent_quota_inserts_never_exceed_the_quota<S: ClientRegistry + Clone>(store: S) {
    const ROOM: usize = 5;
    for round in 0..ROUNDS {
        let registrant = hash();
        let max = u64::try_from(ROOM).unwrap() + 1;
        let quota = RegistrationQuota::new(registrant, max);
        ok(
            store
                .insert_client_within_quota(
                    managed_client(&format!("first-{round}"), hash(), "First"),
                    &quota,
                )
                .await,
            "insert_client_within_quota",
        );
        let ids: Vec<String> = (0..RACERS).map(|i| format!("racer-{round}-{i}")).collect();
        let tasks = ids
            .iter()
            .map(|id| {
                let (store, client) = (store.clone(), managed_client(id, hash(), "Racer"));
                Box::pin(async move {
                    ok(
                        store.insert_client_within_quota(client, &quota).await,
                        "insert_client_within_quota",
                    )
                }) as Racer<bool>
            })
            .collect();
        let results = race(tasks).await;
        let winners = results.iter().filter(|won| **won).count();
        assert_eq!(
            winners, ROOM,
            "of {RACERS} concurrent insert_client_within_quota calls for one registrant with              room for {ROOM} clients, exactly {ROOM} must succeed; {winners} did"
        );
        for (id, won) in ids.iter().zip(&results) {
            let stored = ok(store.find_client(id).await, "find_client").is_some();
            assert_eq!(
                stored, *won,
                "a client must be stored exactly when its insert_client_within_quota returned true"
            );
        }
    }
}

/// `create_grant` makes a grant's secrets visible together: a reader that
/// finds one of them finds the others, and once `create_grant` has returned
/// every reader finds all of them.
pub async fn create_grant_is_visible_at_once<S: GrantStore + Clone>(store: S) {
    let client = client_id("client");
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

/// Of 32 concurrent `redeem_code` calls for one code, by its own client and
/// every check passing, exactly one is [`Redemption::Redeemed`]; each other
/// finds the code redeemed — a replay, or a race lost — and is
/// [`Redemption::Revoked`] with the grant's id, or, arriving after another
/// loser revoked the grant, [`Redemption::Refused`]`(None)`. No loser's
/// tokens are stored, and afterwards the grant is revoked: the winner's
/// tokens are dead and the code is unknown.
pub async fn concurrent_code_redemptions_redeem_once<S: AuthorizationCodeStore + Clone>(store: S) {
    let client = client_id("client");
    for _ in 0..ROUNDS {
        let t = now();
        let issued = Issued::code(&client, t).create_code(&store).await;
        let code = issued.code_hash();
        let redemptions: Vec<_> = (0..RACERS)
            .map(|_| Arc::new(redemption(&client, t)))
            .collect();
        let tasks = redemptions
            .iter()
            .map(|asked| {
                let (store, asked) = (store.clone(), asked.clone());
                Box::pin(async move { redeem(&store, &code, &asked).await }) as Racer<Redemption>
            })
            .collect();
        let results = race(tasks).await;
        let winners: Vec<_> = (0..RACERS)
            .filter(|i| matches!(results[*i], Redemption::Redeemed(_)))
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "of {RACERS} concurrent redemptions of one code exactly one must be Redeemed; \
             got {}",
            tally(&results, redemption_kind)
        );
        assert_eq!(
            results[winners[0]],
            Redemption::Redeemed(issued.found_code(false)),
            "the winning redemption must carry the code as found, unredeemed"
        );
        assert!(
            count(&results, &Redemption::Revoked(issued.grant.id))
                + count(&results, &Redemption::Refused(None))
                == RACERS - 1,
            "the losers of a race to redeem one code must find it redeemed — a replay — and be \
             Revoked with the grant's id, or Refused(None) once the grant is gone; got \
             {}",
            tally(&results, redemption_kind)
        );
        assert!(
            count(&results, &Redemption::Revoked(issued.grant.id)) > 0,
            "a loser of a race to redeem one code must revoke the grant: none was Revoked; \
             got {}",
            tally(&results, redemption_kind)
        );
        for (asked, result) in redemptions.iter().zip(&results) {
            if !matches!(result, Redemption::Redeemed(_)) {
                assert!(
                    !redemption_stored(&store, asked).await,
                    "a losing redemption must store no token"
                );
            }
        }
        let winner = &redemptions[winners[0]];
        assert!(
            !redemption_stored(&store, winner).await,
            "after the race the grant must be revoked: the winner's tokens must no longer be \
             found"
        );
        assert!(
            !code_found(&store, &code).await,
            "after the race the grant must be revoked: the code must no longer be found"
        );
    }
}

/// Of 32 concurrent `rotate_refresh_token` calls for one refresh token, by
/// its own client and every check passing, exactly one is
/// [`Rotation::Rotated`]; each other finds it rotated out — a reuse, or a
/// race lost — and is [`Rotation::Revoked`] with the grant's id, or,
/// arriving after another loser revoked the grant,
/// [`Rotation::Refused`]`(None)`. No loser's tokens are stored, and
/// afterwards the grant is revoked: the winner's tokens are dead.
pub async fn concurrent_rotations_rotate_once<S: GrantStore + Clone>(store: S) {
    let client = client_id("client");
    for _ in 0..ROUNDS {
        let t = now();
        let issued = Issued::access_and_refresh(&client, t).create(&store).await;
        let old = issued.refresh_hash();
        let rotations: Vec<_> = (0..RACERS).map(|_| rotation(&client, t)).collect();
        let tasks = rotations
            .iter()
            .map(|asked| {
                let (store, asked) = (store.clone(), asked.clone());
                Box::pin(async move { rotate(&store, &old, &asked).await }) as Racer<Rotation>
            })
            .collect();
        let results = race(tasks).await;
        let winners: Vec<_> = (0..RACERS)
            .filter(|i| matches!(results[*i], Rotation::Rotated(_)))
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "of {RACERS} concurrent rotations of one refresh token exactly one must be Rotated; \
             got {}",
            tally(&results, rotation_kind)
        );
        assert!(
            matches!(&results[winners[0]], Rotation::Rotated(found) if found.current),
            "the winning rotation must carry the token as found, current; got {}",
            tally(&results, rotation_kind)
        );
        assert!(
            count(&results, &Rotation::Revoked(issued.grant.id))
                + count(&results, &Rotation::Refused(None))
                == RACERS - 1,
            "the losers of a race to rotate one refresh token must find it rotated out — a \
             reuse — and be Revoked with the grant's id, or Refused(None) once the grant is \
             gone; got {}",
            tally(&results, rotation_kind)
        );
        assert!(
            count(&results, &Rotation::Revoked(issued.grant.id)) > 0,
            "a loser of a race to rotate one refresh token must revoke the grant: none was \
             Revoked; got {}",
            tally(&results, rotation_kind)
        );
        for (asked, result) in rotations.iter().zip(&results) {
            if !matches!(result, Rotation::Rotated(_)) {
                assert!(
                    !rotation_stored(&store, asked).await,
                    "a losing rotation must store no token"
                );
            }
        }
        assert!(
            !rotation_stored(&store, &rotations[winners[0]]).await
                && !access_found(&store, &issued.access_hash()).await
                && refresh_found(&store, &old).await.is_none(),
            "after the race the grant must be revoked: none of its tokens, the winner's \
             included, may be found"
        );
    }
}

/// Two concurrent `redeem_code` calls for one code, by its own client and
/// every check passing, again and again on fresh codes: one is
/// [`Redemption::Redeemed`], and the other — which may have found the code
/// unredeemed before losing the race to consume it — is
/// [`Redemption::Revoked`] with the grant's id, and has revoked it: the
/// winner's tokens are dead. (A store deciding in one SQL statement must
/// revoke for a race lost after its snapshot, not only for a replay its
/// snapshot shows.)
pub async fn a_redemption_losing_a_race_revokes_the_grant<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let client = client_id("client");
    for round in 0..PAIR_ROUNDS {
        let t = now();
        let issued = Issued::code(&client, t).create_code(&store).await;
        let code = issued.code_hash();
        let redemptions = [
            Arc::new(redemption(&client, t)),
            Arc::new(redemption(&client, t)),
        ];
        let tasks = redemptions
            .iter()
            .map(|asked| {
                let (store, asked) = (store.clone(), asked.clone());
                Box::pin(async move { redeem(&store, &code, &asked).await }) as Racer<Redemption>
            })
            .collect();
        let results = race(tasks).await;
        let won = Redemption::Redeemed(issued.found_code(false));
        let lost = Redemption::Revoked(issued.grant.id);
        assert!(
            results == [won.clone(), lost.clone()] || results == [lost, won],
            "of two concurrent redemptions of one code, one must be Redeemed and the other, \
             finding the code redeemed, Revoked with the grant's id; got {} \
             (round {round})",
            tally(&results, redemption_kind)
        );
        for asked in &redemptions {
            assert!(
                !redemption_stored(&store, asked).await,
                "the redemption that lost the race must have revoked the grant: no token of \
                 either may be found afterwards (round {round})"
            );
        }
    }
}

/// Two concurrent `rotate_refresh_token` calls for one refresh token, by
/// its own client and every check passing, again and again on fresh
/// tokens: one is [`Rotation::Rotated`], and the other — which may have
/// found the token current before losing the race to rotate it — is
/// [`Rotation::Revoked`] with the grant's id, and has revoked it: the
/// winner's tokens are dead.
pub async fn a_rotation_losing_a_race_revokes_the_grant<S: GrantStore + Clone>(store: S) {
    let client = client_id("client");
    for round in 0..PAIR_ROUNDS {
        let t = now();
        let issued = Issued::access_and_refresh(&client, t).create(&store).await;
        let old = issued.refresh_hash();
        let rotations = [rotation(&client, t), rotation(&client, t)];
        let tasks = rotations
            .iter()
            .map(|asked| {
                let (store, asked) = (store.clone(), asked.clone());
                Box::pin(async move { rotate(&store, &old, &asked).await }) as Racer<Rotation>
            })
            .collect();
        let results = race(tasks).await;
        let lost = Rotation::Revoked(issued.grant.id);
        assert!(
            matches!(
                (&results[0], &results[1]),
                (Rotation::Rotated(_), other) | (other, Rotation::Rotated(_)) if *other == lost
            ),
            "of two concurrent rotations of one refresh token, one must be Rotated and the \
             other, finding the token rotated out, Revoked with the grant's id; got \
             {} (round {round})",
            tally(&results, rotation_kind)
        );
        for asked in &rotations {
            assert!(
                !rotation_stored(&store, asked).await,
                "the rotation that lost the race must have revoked the grant: no token of \
                 either may be found afterwards (round {round})"
            );
        }
    }
}

/// Revoking a grant while its refresh token is rotated again and again:
/// every rotation is [`Rotation::Rotated`] until the revocation, and every
/// one begun after `revoke_grant` returned is [`Rotation::Refused`]`(None)`
/// (never `Revoked`: no token is reused); afterwards nothing of the grant is
/// found — no access or refresh token any rotation stored, before or after
/// the revocation.
pub async fn revoke_grant_racing_rotation_leaves_nothing<S: GrantStore + Clone>(store: S) {
    let client = client_id("client");
    for round in 0..16_usize {
        let t = now();
        let issued = Issued::access_and_refresh(&client, t).create(&store).await;
        let revoked = Arc::new(AtomicBool::new(false));
        let mut tasks: Vec<Racer<Vec<TokenHash>>> = Vec::new();
        {
            let (store, client, issued, revoked) = (
                store.clone(),
                client.clone(),
                issued.clone(),
                revoked.clone(),
            );
            // One rotator follows the token's chain: a rotation is never a
            // reuse, so only the revocation ends it.
            tasks.push(Box::pin(async move {
                let mut stored = Vec::new();
                let mut current = issued.refresh_hash();
                for step in 0..100_u32 {
                    let asked = rotation(&client, t + MINUTE * step);
                    stored.extend([asked.refresh_token.hash, asked.access_token.hash]);
                    let after_revocation = revoked.load(Ordering::SeqCst);
                    let outcome = rotate(&store, &current, &asked).await;
                    assert!(
                        !after_revocation || outcome == Rotation::Refused(None),
                        "a rotation begun after revoke_grant returned must be Refused(None), \
                         got {outcome:?}"
                    );
                    match outcome {
                        Rotation::Rotated(_) => current = asked.refresh_token.hash,
                        Rotation::Refused(None) => break,
                        other => panic!(
                            "a rotation of the current token, racing only with revoke_grant, \
                             must be Rotated or, once the grant is revoked, Refused(None); got \
                             {other:?}"
                        ),
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
pub async fn concurrent_takes_of_a_pending_request_take_once<S: AuthorizationCodeStore + Clone>(
    store: S,
) {
    let client = client_id("client");
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
pub async fn concurrent_device_polls_are_serialised<S: DeviceAuthorizationStore + Clone>(store: S) {
    let client = client_id("device-client");
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
pub async fn concurrent_device_decisions_decide_once<S: DeviceAuthorizationStore + Clone>(
    store: S,
) {
    let client = client_id("device-client");
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
pub async fn concurrent_device_polls_collect_once<S: DeviceAuthorizationStore + Clone>(store: S) {
    let client = client_id("device-client");
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

/// The outcomes of a race, counted by kind, for messages: 32 records would
/// drown the point.
fn tally<T>(results: &[T], kind: impl Fn(&T) -> String) -> String {
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for result in results {
        let name = kind(result);
        match kinds.iter_mut().find(|(k, _)| *k == name) {
            Some((_, n)) => *n += 1,
            None => kinds.push((name, 1)),
        }
    }
    let parts: Vec<_> = kinds.iter().map(|(k, n)| format!("{n} × {k}")).collect();
    parts.join(", ")
}

/// A redemption's outcome in short: its variant, the grant id it names,
/// whether what it found was redeemed.
fn redemption_kind(result: &Redemption) -> String {
    match result {
        Redemption::Redeemed(found) => format!("Redeemed(redeemed: {})", found.redeemed),
        Redemption::Revoked(id) => format!("Revoked({id})"),
        Redemption::Refused(None) => "Refused(None)".to_owned(),
        Redemption::Refused(Some(found)) => format!("Refused(redeemed: {})", found.redeemed),
    }
}

/// A rotation's outcome in short, as [`redemption_kind`].
fn rotation_kind(result: &Rotation) -> String {
    match result {
        Rotation::Rotated(found) => format!("Rotated(current: {})", found.current),
        Rotation::Revoked(id) => format!("Revoked({id})"),
        Rotation::Refused(None) => "Refused(None)".to_owned(),
        Rotation::Refused(Some(found)) => format!("Refused(current: {})", found.current),
    }
}
