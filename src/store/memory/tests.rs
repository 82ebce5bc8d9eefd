//! Tests of the memory store's own invariants; the behaviour every store
//! shares is checked by the conformance suite (`crate::testing`).

use super::*;
use crate::store::AccessTokenInfo;
use crate::store::{AuthorizationCodeStore, GrantStore, PlannedToken};
use crate::token::{TokenKind, mint};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => unreachable!("the memory store never suspends"),
    }
}

fn issue(store: &MemoryStore, now: SystemTime, lifetime: Duration) -> (TokenHash, GrantId) {
    issue_with(store, now, lifetime, true)
}

fn issue_with(
    store: &MemoryStore,
    now: SystemTime,
    lifetime: Duration,
    colocated: bool,
) -> (TokenHash, GrantId) {
    let (_, hash) = mint(TokenKind::AccessToken);
    let id = if colocated {
        derive_grant_id(&hash)
    } else {
        // Force another shard than the token's.
        let mut bytes = *GrantId::generate().as_bytes();
        bytes[15] = hash.as_bytes()[31].wrapping_add(1);
        GrantId::from_bytes(bytes)
    };
    let grant = GrantRecord {
        id,
        client_id: ClientId::new_unchecked("c"),
        subject: None,
        scope: Scope::empty(),
        resources: ResourceSet::empty(),
        authorization_details: crate::protocol::AuthorizationDetails::empty(),
        openid: None,
        created_at: now,
        expires_at: now + lifetime,
    };
    let token = AccessTokenRecord {
        hash,
        grant_id: grant.id,
        scope: Scope::empty(),
        audience: ResourceSet::empty(),
        issued_at: now,
        expires_at: now + lifetime,
        exchange: None,
        cnf: None,
        authorization_details: AuthorizationDetails::empty(),
    };
    block_on(store.create_grant(NewGrant::with_access_token(grant, token))).unwrap();
    (hash, id)
}

#[test]
fn times_convert_to_milliseconds_saturating() {
    let t = SystemTime::UNIX_EPOCH + Duration::new(1_800_000_000, 987_654_321);
    assert_eq!(to_ms(t), 1_800_000_000_987);
    assert_eq!(from_ms(to_ms(t)), t - Duration::from_nanos(654_321));
    assert_eq!(to_ms(SystemTime::UNIX_EPOCH - Duration::from_secs(1)), 0);
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 1000 + 1);
    assert_eq!(to_ms(far), u64::MAX);
}

#[test]
fn expired_entries_are_dropped_without_a_purge() {
    // 1,000 live tokens at any time (lifetime 1,000 s, one issued per
    // second); after 200,000 issued the store holds a small multiple of
    // that, not 200,000.
    let store = MemoryStore::new();
    let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    for _ in 0..200_000 {
        issue(&store, now, Duration::from_secs(1000));
        now += Duration::from_secs(1);
    }
    let held = store.access_token_count();
    assert!(held < 2 * 1000 + SHARDS * SWEEP_EVERY, "{held} tokens held");
    assert!(store.grant_count() < 2 * 1000 + SHARDS * SWEEP_EVERY);
    assert!(held >= 1000, "live tokens were dropped");
}

#[test]
fn revoking_a_clients_grants_spares_other_clients() {
    let store = MemoryStore::new();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    // `issue` makes grants for client "c"; spread them over many shards.
    let mine: Vec<_> = (0..64)
        .map(|i| issue_with(&store, now, Duration::from_secs(60), i % 2 == 0).0)
        .collect();
    let (_, hash) = mint(TokenKind::AccessToken);
    let other = GrantRecord {
        id: derive_grant_id(&hash),
        client_id: ClientId::new_unchecked("other"),
        subject: None,
        scope: Scope::empty(),
        resources: ResourceSet::empty(),
        authorization_details: crate::protocol::AuthorizationDetails::empty(),
        openid: None,
        created_at: now,
        expires_at: now + Duration::from_secs(60),
    };
    let token = AccessTokenRecord {
        hash,
        grant_id: other.id,
        scope: Scope::empty(),
        audience: ResourceSet::empty(),
        issued_at: now,
        expires_at: now + Duration::from_secs(60),
        exchange: None,
        cnf: None,
        authorization_details: AuthorizationDetails::empty(),
    };
    block_on(store.create_grant(NewGrant::with_access_token(other, token))).unwrap();

    let revoked = block_on(store.revoke_client_grants(&ClientId::new_unchecked("c"))).unwrap();
    assert_eq!(revoked, 64);
    for t in &mine {
        assert!(block_on(store.find_access_token(t)).unwrap().is_none());
    }
    assert!(block_on(store.find_access_token(&hash)).unwrap().is_some());
    assert_eq!(store.grant_count(), 1);
}

#[test]
fn revoked_grants_take_their_tokens_along() {
    for colocated in [true, false] {
        let store = MemoryStore::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let (hash, grant) = issue_with(&store, now, Duration::from_secs(60), colocated);
        let (token, found) = block_on(store.find_access_token(&hash)).unwrap().unwrap();
        assert_eq!((token.grant_id, found.id), (grant, grant));
        assert!(checked(&store, &hash, now).is_some());
        assert!(block_on(store.revoke_grant(&grant)).unwrap());
        assert!(block_on(store.find_access_token(&hash)).unwrap().is_none());
        assert!(checked(&store, &hash, now).is_none());
        if colocated {
            // A sealed grant: its token was its only record, and went
            // with it.
            assert_eq!(store.access_token_count(), 0);
            assert_eq!(block_on(store.purge_expired(now)).unwrap(), 0);
        } else {
            // The orphaned token is dropped by a purge even before it
            // expires.
            assert_eq!(block_on(store.purge_expired(now)).unwrap(), 1);
            assert_eq!(store.access_token_count(), 0);
        }
        assert!(!block_on(store.revoke_grant(&grant)).unwrap());
    }
}

/// A fresh hash whose last byte — its shard — is `shard`, so a test
/// decides which shards an operation locks.
fn hash_in(kind: TokenKind, shard: u8) -> TokenHash {
    let mut bytes = *mint(kind).1.as_bytes();
    bytes[31] = shard;
    TokenHash::from_bytes(bytes)
}

#[test]
fn redemption_and_rotation_lock_every_shard_they_touch() {
    // The code, its grant and each new token in shards of their own (and
    // then all in one), so the redemption takes four locks (or one) and
    // finds the grant under them; the replay revokes the grant in its
    // own shard, which kills tokens held in the others.
    for shards in [[1, 2, 3, 4], [4, 3, 2, 1], [7, 7, 7, 7]] {
        let store = MemoryStore::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let client = ClientId::new_unchecked("c");
        let code = hash_in(TokenKind::AuthorizationCode, shards[0]);
        let mut id = *GrantId::generate().as_bytes();
        id[15] = shards[1];
        let grant = GrantRecord {
            id: GrantId::from_bytes(id),
            client_id: client.clone(),
            subject: None,
            scope: Scope::empty(),
            resources: ResourceSet::empty(),
            authorization_details: crate::protocol::AuthorizationDetails::empty(),
            openid: None,
            created_at: now,
            expires_at: now + Duration::from_secs(3600),
        };
        let record = AuthorizationCodeRecord {
            hash: code,
            grant_id: grant.id,
            redirect_uri: Arc::from("https://client.example/cb"),
            redirect_uri_in_request: false,
            challenge: None,
            issued_at: now,
            expires_at: now + Duration::from_secs(60),
            dpop_jkt: None,
        };
        block_on(store.create_code_grant(NewCodeGrant::new(grant.clone(), record))).unwrap();

        let access = hash_in(TokenKind::AccessToken, shards[2]);
        let refresh = hash_in(TokenKind::RefreshToken, shards[3]);
        let redemption = CodeRedemption::new(
            client.clone(),
            now,
            PlannedToken::new(access, now + Duration::from_secs(600)),
            Some(PlannedToken::new(refresh, now + Duration::from_secs(7200))),
        );
        let outcome = block_on(store.redeem_code(&code, &redemption)).unwrap();
        assert!(matches!(outcome, Redemption::Redeemed(_)), "{outcome:?}");
        assert!(
            block_on(store.find_access_token(&access))
                .unwrap()
                .is_some()
        );
        let found = block_on(store.find_refresh_token(&refresh))
            .unwrap()
            .unwrap();
        assert!(found.current);
        assert_eq!(found.record.expires_at, grant.expires_at, "capped");

        // Rotation: old token, grant and new tokens in four shards.
        let rotation = RefreshRotation::new(
            client.clone(),
            None,
            now,
            PlannedToken::new(
                hash_in(TokenKind::RefreshToken, shards[0]),
                now + Duration::from_secs(7200),
            ),
            PlannedToken::new(
                hash_in(TokenKind::AccessToken, shards[2]),
                now + Duration::from_secs(600),
            ),
        );
        let outcome = block_on(store.rotate_refresh_token(&refresh, &rotation)).unwrap();
        assert!(matches!(outcome, Rotation::Rotated(_)), "{outcome:?}");

        let replay = CodeRedemption::new(
            client.clone(),
            now,
            PlannedToken::new(
                hash_in(TokenKind::AccessToken, shards[3]),
                now + Duration::from_secs(600),
            ),
            None,
        );
        assert_eq!(
            block_on(store.redeem_code(&code, &replay)).unwrap(),
            Redemption::Revoked(grant.id)
        );
        for token in [access, rotation.access_token.hash, replay.access_token.hash] {
            assert!(block_on(store.find_access_token(&token)).unwrap().is_none());
        }
        for token in [refresh, rotation.refresh_token.hash] {
            assert!(
                block_on(store.find_refresh_token(&token))
                    .unwrap()
                    .is_none()
            );
        }
        assert_eq!(
            block_on(store.rotate_refresh_token(&refresh, &rotation)).unwrap(),
            Rotation::Refused(None)
        );
    }
}

/// What the server's validation sees: the trait's lookup followed by the
/// server's checks.
fn checked(store: &MemoryStore, hash: &TokenHash, now: SystemTime) -> Option<AccessTokenInfo> {
    block_on(store.find_access_token(hash))
        .unwrap()
        .filter(|(token, grant)| token.expires_at > now && grant.expires_at > now)
        .map(|(token, grant)| AccessTokenInfo {
            client_id: grant.client_id,
            subject: grant.subject,
            scope: token.scope,
            audience: token.audience,
            issued_at: token.issued_at,
            expires_at: token.expires_at,
            grant_id: grant.id,
            act: None,
            cnf: token.cnf,
        })
}

fn grant_with_refresh(
    store: &MemoryStore,
    client: &str,
    now: SystemTime,
) -> (GrantId, TokenHash, TokenHash) {
    let (_, access) = mint(TokenKind::AccessToken);
    let (_, refresh) = mint(TokenKind::RefreshToken);
    let grant = GrantRecord {
        id: derive_grant_id(&access),
        client_id: ClientId::new_unchecked(client),
        subject: Some(Subject::new("alice")),
        scope: "read write".parse().unwrap(),
        resources: ResourceSet::empty(),
        authorization_details: crate::protocol::AuthorizationDetails::empty(),
        openid: None,
        created_at: now,
        expires_at: now + Duration::from_secs(3600),
    };
    let new = NewGrant::with_access_token(
        grant.clone(),
        AccessTokenRecord {
            hash: access,
            grant_id: grant.id,
            scope: grant.scope.clone(),
            audience: ResourceSet::empty(),
            issued_at: now,
            expires_at: now + Duration::from_secs(600),
            exchange: None,
            cnf: None,
            authorization_details: AuthorizationDetails::empty(),
        },
    )
    .and_refresh_token(RefreshTokenRecord {
        hash: refresh,
        grant_id: grant.id,
        scope: grant.scope.clone(),
        issued_at: now,
        expires_at: now + Duration::from_secs(1800),
        cnf: None,
    });
    block_on(store.create_grant(new)).unwrap();
    (grant.id, access, refresh)
}

/// Rotates `refresh` (of grant `grant`, client `c`), narrowing the new
/// access token to `scope`; returns the new access and refresh tokens.
fn rotate(
    store: &MemoryStore,
    grant: GrantId,
    refresh: &TokenHash,
    now: SystemTime,
    scope: &str,
) -> (TokenHash, TokenHash) {
    let (_, access) = mint(TokenKind::AccessToken);
    let (_, next) = mint(TokenKind::RefreshToken);
    let rotation = RefreshRotation::new(
        ClientId::new_unchecked("c"),
        Some(scope.parse().unwrap()),
        now,
        PlannedToken::new(next, now + Duration::from_secs(1800)),
        PlannedToken::new(access, now + Duration::from_secs(600)),
    );
    let outcome = block_on(store.rotate_refresh_token(refresh, &rotation)).unwrap();
    match outcome {
        Rotation::Rotated(found) => assert_eq!(found.grant.id, grant),
        other => panic!("{other:?}"),
    }
    (access, next)
}

#[test]
fn validation_agrees_with_the_trait_lookup() {
    let store = MemoryStore::new();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    // Sealed (client credentials): token and grant expire together.
    let (sealed, _) = issue(&store, t0, Duration::from_secs(60));
    // A grant with a refresh token, its tokens spread over the shards,
    // one with a narrower scope.
    let (grant, first, mut refresh) = grant_with_refresh(&store, "c", t0);
    let mut tokens = vec![first];
    for i in 0..40 {
        let scope = if i % 2 == 0 { "read" } else { "read write" };
        let (access, next) = rotate(&store, grant, &refresh, t0, scope);
        tokens.push(access);
        refresh = next;
    }
    assert_eq!(store.grant_count(), 2);
    let info = checked(&store, &sealed, t0).unwrap();
    assert_eq!(info.expires_at, t0 + Duration::from_secs(60));
    for token in &tokens {
        let info = checked(&store, token, t0).unwrap();
        assert_eq!(info.grant_id, grant);
        assert_eq!(info.subject, Some(Subject::new("alice")));
    }
    // Expired: the sealed grant at 60 s, the other grant's tokens at
    // 600 s, all of them at the grant's end.
    assert!(checked(&store, &sealed, t0 + Duration::from_secs(60)).is_none());
    assert!(checked(&store, &first, t0 + Duration::from_secs(599)).is_some());
    assert!(checked(&store, &first, t0 + Duration::from_secs(600)).is_none());
    // One token revoked, then the grant: every token in every shard.
    assert!(block_on(store.revoke_access_token(&tokens[3])).unwrap());
    assert!(checked(&store, &tokens[3], t0).is_none());
    assert!(checked(&store, &tokens[4], t0).is_some());
    assert!(block_on(store.revoke_grant(&grant)).unwrap());
    for token in &tokens {
        assert!(checked(&store, token, t0).is_none());
    }
    assert!(checked(&store, &sealed, t0).is_some());
    // A purge drops them all.
    assert!(block_on(store.purge_expired(t0)).unwrap() >= tokens.len() as u64 - 1);
    assert_eq!(store.access_token_count(), 1);
}

#[test]
fn many_revocations_in_one_shard_stay_visible() {
    // More revoked grants with tokens in one shard than the shard
    // remembers: it drops their tokens at once.
    let store = MemoryStore::new();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let mut in_shard_zero = Vec::new();
    while in_shard_zero.len() < 3 * MAX_REVOKED {
        let (grant, access, _) = grant_with_refresh(&store, "c", t0);
        if token_shard(&access) == 0 {
            in_shard_zero.push((grant, access));
        } else {
            assert!(block_on(store.revoke_grant(&grant)).unwrap());
        }
    }
    let (spared, spared_access) = in_shard_zero.pop().unwrap();
    for (grant, access) in &in_shard_zero {
        assert!(checked(&store, access, t0).is_some());
        assert!(block_on(store.revoke_grant(grant)).unwrap());
        assert!(checked(&store, access, t0).is_none());
        assert!(read(store.inner.shard(0)).revoked.len() <= MAX_REVOKED);
    }
    for (_, access) in &in_shard_zero {
        assert!(checked(&store, access, t0).is_none());
    }
    assert!(checked(&store, &spared_access, t0).is_some());
    assert!(block_on(store.revoke_grant(&spared)).unwrap());
    assert!(checked(&store, &spared_access, t0).is_none());
}

#[test]
fn only_a_grant_that_its_token_can_stand_for_is_sealed() {
    let store = MemoryStore::new();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let sealed_in = |store: &MemoryStore| {
        store
            .inner
            .shards
            .iter()
            .map(|s| read(s).access.sealed())
            .sum::<usize>()
    };
    issue(&store, t0, Duration::from_secs(60));
    assert_eq!(sealed_in(&store), 1);
    // Another scope, another lifetime, or an identifier not made for
    // the token: the grant gets its own entry.
    for change in 0..3 {
        let (_, hash) = mint(TokenKind::AccessToken);
        let mut grant = GrantRecord {
            id: derive_grant_id(&hash),
            client_id: ClientId::new_unchecked("c"),
            subject: None,
            scope: Scope::empty(),
            resources: ResourceSet::empty(),
            authorization_details: crate::protocol::AuthorizationDetails::empty(),
            openid: None,
            created_at: t0,
            expires_at: t0 + Duration::from_secs(60),
        };
        match change {
            0 => grant.scope = "read".parse().unwrap(),
            1 => grant.expires_at += Duration::from_secs(1),
            _ => {
                let mut bytes = *grant.id.as_bytes();
                bytes[0] ^= 1;
                grant.id = GrantId::from_bytes(bytes);
            }
        }
        let token = AccessTokenRecord {
            hash,
            grant_id: grant.id,
            scope: Scope::empty(),
            audience: ResourceSet::empty(),
            issued_at: t0,
            expires_at: t0 + Duration::from_secs(60),
            exchange: None,
            cnf: None,
            authorization_details: AuthorizationDetails::empty(),
        };
        block_on(store.create_grant(NewGrant::with_access_token(grant.clone(), token))).unwrap();
        assert_eq!(sealed_in(&store), 1);
        assert_eq!(
            block_on(store.find_access_token(&hash)).unwrap().unwrap().1,
            grant
        );
        assert!(checked(&store, &hash, t0).is_some());
    }
    assert_eq!(store.grant_count(), 4);
}

#[test]
fn revoking_an_access_token_leaves_its_grant() {
    for colocated in [true, false] {
        let store = MemoryStore::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let (hash, grant) = issue_with(&store, now, Duration::from_secs(60), colocated);
        assert!(block_on(store.revoke_access_token(&hash)).unwrap());
        assert!(block_on(store.find_access_token(&hash)).unwrap().is_none());
        assert_eq!(store.grant_count(), 1, "the grant survives");
        // Idempotent: a second revocation finds nothing and changes nothing.
        assert!(!block_on(store.revoke_access_token(&hash)).unwrap());
        assert!(block_on(store.revoke_grant(&grant)).unwrap());
    }
}
