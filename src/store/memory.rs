//! The embedded in-memory store.
//!
//! Safe under concurrency: grants and tokens are split into 256 shards by key,
//! each behind its own lock, and no lock is held across an `.await` (there are
//! none inside). A grant and its first token share a shard
//! ([`GrantId::generate_for`]), so issuing them takes one lock and finding a
//! token with its grant takes one lock.
//!
//! Expired grants and tokens are dropped as the store goes: every so many
//! inserts into a shard sweep that shard, so memory stays proportional to the
//! live tokens without a background task. [`TokenStore::purge_expired`] sweeps
//! everything at once.

use std::collections::HashMap;
use std::future::{Future, ready};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use super::{
    AccessTokenRecord, AuthorizationCodeRecord, CodeRedemption, Decision, FoundCode,
    FoundRefreshToken, GrantId, GrantRecord, NewGrant, PendingAuthorizationRecord, Redemption,
    RefreshRotation, RefreshTokenRecord, Rotation, StoreError, Subject, TokenStore,
};
use super::{DeviceAuthorizationRecord, DeviceCollection, DeviceDecision, PolledDeviceCode};
use crate::client::{Client, ClientId, ClientRegistry};
use crate::protocol::Scope;
use crate::token::TokenHash;

mod device;

/// Many small shards: less lock contention, and a sweep of one shard touches
/// a few hundred entries even with a million live tokens in the store, so no
/// request pays for a long pause.
const SHARDS: usize = 256;

/// Inserts into a shard between two sweeps of it, at the least. A sweep also
/// waits for as many inserts as the shard held entries after its last sweep,
/// so sweeping costs O(1) per insert however large the store grows, and a
/// shard holds at most about twice its live entries.
const SWEEP_EVERY: usize = 64;

/// A store that keeps everything in memory: clients, grants and tokens.
///
/// Cloning is cheap and clones share state, so one value can serve as both the
/// server's [`ClientRegistry`] and its [`TokenStore`]. State is lost when the
/// process ends; use it for tests, development, and single-process servers
/// that can afford to lose their tokens.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
    devices: Arc<device::DeviceTable>,
}

struct Inner {
    clients: RwLock<HashMap<ClientId, Arc<Client>>>,
    scopes: ScopeInterner,
    shards: [RwLock<Shard>; SHARDS],
}

impl Default for Inner {
    fn default() -> Self {
        Self {
            clients: RwLock::default(),
            scopes: ScopeInterner::default(),
            shards: std::array::from_fn(|_| RwLock::default()),
        }
    }
}

/// A grant as held in memory: the record without its key, times in
/// milliseconds. 64 bytes, so a table entry with its key is 80.
#[derive(Clone)]
struct StoredGrant {
    client_id: ClientId,
    subject: Option<Subject>,
    scope: Scope,
    created_ms: u64,
    expires_ms: u64,
}

/// An access token as held in memory. 48 bytes; 80 with its key.
#[derive(Clone)]
struct StoredToken {
    grant_id: GrantId,
    scope: Scope,
    issued_ms: u64,
    expires_ms: u64,
}

impl StoredGrant {
    fn record(self, id: GrantId) -> GrantRecord {
        GrantRecord {
            id,
            client_id: self.client_id,
            subject: self.subject,
            scope: self.scope,
            created_at: from_ms(self.created_ms),
            expires_at: from_ms(self.expires_ms),
        }
    }
}

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

/// An authorization code and whether it has been redeemed. Consumed codes are
/// kept until they expire, so a replay is recognised as one.
#[derive(Clone)]
struct StoredCode {
    record: AuthorizationCodeRecord,
    consumed: bool,
}

/// A refresh token. A rotated-out one (`current == false`) is kept until it
/// would have expired, so that presenting it again is recognised as reuse for
/// as long as it could have worked. 56 bytes; 88 with its key.
#[derive(Clone)]
struct StoredRefresh {
    grant_id: GrantId,
    scope: Scope,
    issued_ms: u64,
    expires_ms: u64,
    current: bool,
}

impl StoredRefresh {
    fn record(&self, hash: TokenHash) -> RefreshTokenRecord {
        RefreshTokenRecord {
            hash,
            grant_id: self.grant_id,
            scope: self.scope.clone(),
            issued_at: from_ms(self.issued_ms),
            expires_at: from_ms(self.expires_ms),
        }
    }
}

/// One shard: the grants, tokens, codes and pending requests whose keys end
/// in its byte.
///
/// Field order matters: the counters and the two maps every token request
/// touches come first, so they share the lock's cache lines.
#[derive(Default)]
#[repr(C)]
struct Shard {
    /// Records inserted since the last sweep.
    inserts: usize,
    /// Records left by the last sweep.
    live_after_sweep: usize,
    grants: Map<GrantId, StoredGrant>,
    tokens: Map<TokenHash, StoredToken>,
    refresh: Map<TokenHash, StoredRefresh>,
    codes: Map<TokenHash, StoredCode>,
    pending: Map<TokenHash, PendingAuthorizationRecord>,
}

impl Shard {
    fn len(&self) -> usize {
        self.grants.len()
            + self.tokens.len()
            + self.refresh.len()
            + self.codes.len()
            + self.pending.len()
    }

    /// Counts `n` inserts and sweeps when they have paid for it.
    fn inserted(&mut self, n: usize, now: u64) {
        self.inserts += n;
        if self.inserts >= SWEEP_EVERY.max(self.live_after_sweep) {
            self.sweep(now);
        }
    }

    /// Drops expired records (by expiry only: cheap). Returns how many went.
    fn sweep(&mut self, now: u64) -> usize {
        let before = self.len();
        self.grants.retain(|_, g| g.expires_ms > now);
        self.tokens.retain(|_, t| t.expires_ms > now);
        self.refresh.retain(|_, r| r.expires_ms > now);
        self.codes.retain(|_, c| to_ms(c.record.expires_at) > now);
        self.pending.retain(|_, p| to_ms(p.expires_at) > now);
        self.inserts = 0;
        self.live_after_sweep = self.len();
        before - self.live_after_sweep
    }
}

/// The most shards one operation locks at once: a grant with its code, or
/// its access and refresh tokens, or a code or refresh token with the two
/// tokens it is exchanged for.
const MAX_LOCKED: usize = 4;

/// Tokens in their stored form, ready to insert.
struct PreparedTokens {
    now: u64,
    access: Option<(TokenHash, StoredToken)>,
    refresh: Option<(TokenHash, StoredRefresh)>,
}

impl PreparedTokens {
    /// The shard the access token goes to; `otherwise` when there is none.
    fn access_shard(&self, otherwise: usize) -> usize {
        self.access
            .as_ref()
            .map_or(otherwise, |(h, _)| token_shard(h))
    }

    /// The shard the refresh token goes to; `otherwise` when there is none.
    fn refresh_shard(&self, otherwise: usize) -> usize {
        self.refresh
            .as_ref()
            .map_or(otherwise, |(h, _)| token_shard(h))
    }
}

/// Write guards on a set of shards, taken in ascending order.
struct Locked<'a> {
    guards: [Option<(usize, RwLockWriteGuard<'a, Shard>)>; MAX_LOCKED],
}

impl Locked<'_> {
    fn shard(&mut self, index: usize) -> Option<&mut Shard> {
        self.guards
            .iter_mut()
            .flatten()
            .find(|(i, _)| *i == index)
            .map(|(_, guard)| &mut **guard)
    }
}

/// The shard of a token: the last byte of its (uniformly random) hash.
fn token_shard(hash: &TokenHash) -> usize {
    usize::from(hash.as_bytes()[31])
}

/// The shard of a grant: the last byte of its identifier, which
/// [`GrantId::generate_for`] makes equal to its first token's.
fn grant_shard(id: &GrantId) -> usize {
    usize::from(id.as_bytes()[15])
}

impl Inner {
    fn shard(&self, index: usize) -> &RwLock<Shard> {
        // Indexes come from a byte, so always below SHARDS; `get` keeps this
        // panic-free regardless.
        self.shards.get(index).unwrap_or(&self.shards[0])
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("clients", &read(&self.inner.clients).len())
            .field("grants", &self.grant_count())
            .field("access_tokens", &self.access_token_count())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many access tokens are held (live or expired but not yet swept).
    pub fn access_token_count(&self) -> usize {
        self.inner.shards.iter().map(|s| read(s).tokens.len()).sum()
    }

    /// How many grants are held.
    pub fn grant_count(&self) -> usize {
        self.inner.shards.iter().map(|s| read(s).grants.len()).sum()
    }

    /// `scope`, sharing the grant's allocation when they are equal (the usual
    /// case), or an interned copy.
    fn share_scope(&self, scope: Scope, grant_scope: &Scope) -> Scope {
        if scope == *grant_scope {
            grant_scope.clone()
        } else {
            self.inner.scopes.intern(&scope)
        }
    }

    fn stored_token(&self, token: AccessTokenRecord, grant_scope: &Scope) -> StoredToken {
        StoredToken {
            grant_id: token.grant_id,
            scope: self.share_scope(token.scope, grant_scope),
            issued_ms: to_ms(token.issued_at),
            expires_ms: to_ms(token.expires_at),
        }
    }

    fn stored_refresh(&self, refresh: RefreshTokenRecord, grant_scope: &Scope) -> StoredRefresh {
        StoredRefresh {
            grant_id: refresh.grant_id,
            scope: self.share_scope(refresh.scope, grant_scope),
            issued_ms: to_ms(refresh.issued_at),
            expires_ms: to_ms(refresh.expires_at),
            current: true,
        }
    }

    /// Write-locks the shards `indices`, in ascending order. Every operation
    /// that needs more than one shard takes them all this way, and no read
    /// ever holds one lock while taking another, so locks cannot deadlock.
    fn lock(&self, indices: &[usize]) -> Locked<'_> {
        let mut locked = Locked {
            guards: [None, None, None, None],
        };
        // The usual case — a grant with its first secrets, which share a shard
        // by construction — needs one lock and no sorting.
        if let Some(&first) = indices.first() {
            if indices.iter().all(|i| *i == first) {
                locked.guards[0] = Some((first, write(self.inner.shard(first))));
                return locked;
            }
        }
        let mut sorted = [usize::MAX; MAX_LOCKED];
        for (slot, index) in sorted.iter_mut().zip(indices) {
            *slot = *index;
        }
        sorted.sort_unstable();
        let mut previous = None;
        for (slot, index) in locked.guards.iter_mut().zip(sorted) {
            if index == usize::MAX || previous == Some(index) {
                continue;
            }
            previous = Some(index);
            *slot = Some((index, write(self.inner.shard(index))));
        }
        locked
    }

    /// Builds the stored form of tokens. A token whose scope is its grant's
    /// (nearly all) shares the grant's allocation; any other is interned. A
    /// new grant's tokens are prepared before its shard locks are taken (the
    /// interner's lock is an atomic operation, which inside a critical
    /// section would stall on the cache-missing stores before it); a
    /// redemption or rotation prepares them under its locks, where the grant
    /// is read, and interns only a narrowed scope.
    fn prepare_tokens(
        &self,
        now: u64,
        access: Option<AccessTokenRecord>,
        refresh: Option<RefreshTokenRecord>,
        grant_scope: &Scope,
    ) -> PreparedTokens {
        PreparedTokens {
            now,
            access: access.map(|a| (a.hash, self.stored_token(a, grant_scope))),
            refresh: refresh.map(|r| (r.hash, self.stored_refresh(r, grant_scope))),
        }
    }

    /// Stores prepared tokens in shards already locked.
    fn put_tokens(locked: &mut Locked<'_>, prepared: PreparedTokens) {
        let PreparedTokens {
            now,
            access,
            refresh,
        } = prepared;
        if let Some((hash, stored)) = access {
            if let Some(shard) = locked.shard(token_shard(&hash)) {
                shard.tokens.insert(hash, stored);
                shard.inserted(1, now);
            }
        }
        if let Some((hash, stored)) = refresh {
            if let Some(shard) = locked.shard(token_shard(&hash)) {
                shard.refresh.insert(hash, stored);
                shard.inserted(1, now);
            }
        }
    }

    /// A record found in shard `index` by `get`, with its grant: under the
    /// same lock when the grant shares the shard (always for a grant's first
    /// secret), otherwise read after that lock is released, so no lock nests.
    /// `None` when either is missing.
    fn find_with_grant<T>(
        &self,
        index: usize,
        get: impl FnOnce(&Shard) -> Option<(T, GrantId)>,
    ) -> Option<(T, GrantRecord)> {
        let (found, grant_id, same_shard) = {
            let shard = read(self.inner.shard(index));
            let (found, grant_id) = get(&shard)?;
            let grant =
                (grant_shard(&grant_id) == index).then(|| shard.grants.get(&grant_id).cloned());
            (found, grant_id, grant)
        };
        let grant = match same_shard {
            Some(grant) => grant?,
            None => read(self.inner.shard(grant_shard(&grant_id)))
                .grants
                .get(&grant_id)
                .cloned()?,
        };
        Some((found, grant.record(grant_id)))
    }

    /// A record found in shard `index`, already locked, by `get`, with its
    /// grant `grant_id`, whose shard is locked too. `None` when either is
    /// missing.
    fn locked_with_grant<T>(
        locked: &mut Locked<'_>,
        index: usize,
        grant_id: &GrantId,
        get: impl FnOnce(&Shard) -> Option<T>,
    ) -> Option<(T, GrantRecord)> {
        let found = get(locked.shard(index)?)?;
        let grant = locked
            .shard(grant_shard(grant_id))?
            .grants
            .get(grant_id)?
            .clone()
            .record(*grant_id);
        Some((found, grant))
    }

    /// Revokes the grant `id` in shards already locked (see
    /// [`TokenStore::revoke_grant`]).
    fn locked_revoke(locked: &mut Locked<'_>, id: &GrantId) {
        if let Some(shard) = locked.shard(grant_shard(id)) {
            shard.grants.remove(id);
        }
    }
}

// Every operation is a few map operations under a lock, so each method does
// its work when called and returns a completed future: nothing is held across
// an `.await`, and the futures the server boxes stay a few bytes.
impl ClientRegistry for MemoryStore {
    fn find_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Arc<Client>>, StoreError>> + Send {
        ready(Ok(read(&self.inner.clients).get(client_id).cloned()))
    }

    fn insert_client(&self, client: Client) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut clients = write(&self.inner.clients);
        if clients.contains_key(client.id()) {
            return ready(Err(StoreError::Conflict));
        }
        clients.insert(client.id().clone(), Arc::new(client));
        ready(Ok(()))
    }

    fn update_client(
        &self,
        client: Client,
        expected_token: Option<&TokenHash>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // The check and the swap under one write lock: a compare-and-swap.
        let mut clients = write(&self.inner.clients);
        let replaced = match clients.get_mut(client.id().as_str()) {
            Some(stored) if token_matches(stored, expected_token) => {
                *stored = Arc::new(client);
                true
            }
            _ => false,
        };
        ready(Ok(replaced))
    }

    fn delete_client(
        &self,
        client_id: &str,
        expected_token: Option<&TokenHash>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let mut clients = write(&self.inner.clients);
        let deleted = match clients.get(client_id) {
            Some(stored) if token_matches(stored, expected_token) => {
                clients.remove(client_id);
                true
            }
            _ => false,
        };
        ready(Ok(deleted))
    }
}

/// The compare-and-swap condition of `update_client` and `delete_client`.
fn token_matches(stored: &Client, expected: Option<&TokenHash>) -> bool {
    match expected {
        None => true,
        Some(expected) => stored
            .registration_access_token_hash()
            .is_some_and(|h| h.ct_eq(expected)),
    }
}

impl TokenStore for MemoryStore {
    fn create_grant(&self, new: NewGrant) -> impl Future<Output = Result<(), StoreError>> + Send {
        let NewGrant {
            grant,
            access_token,
            refresh_token,
            code,
        } = new;
        let now = to_ms(grant.created_at);
        let scope = self.inner.scopes.intern(&grant.scope);
        let (grant_id, g) = (grant.id, grant_shard(&grant.id));
        let stored_grant = StoredGrant {
            client_id: grant.client_id,
            subject: grant.subject,
            scope: scope.clone(),
            created_ms: now,
            expires_ms: to_ms(grant.expires_at),
        };
        let prepared = self.prepare_tokens(now, access_token, refresh_token, &scope);
        let code_shard = code.as_ref().map_or(g, |c| token_shard(&c.hash));
        // Everything under one set of locks, so a reader sees the grant and its
        // first secrets together or not at all. By construction
        // (`GrantId::generate_for`) they usually share one shard: one lock.
        let mut locked = self.lock(&[
            g,
            prepared.access_shard(g),
            prepared.refresh_shard(g),
            code_shard,
        ]);
        if let Some(shard) = locked.shard(g) {
            shard.grants.insert(grant_id, stored_grant);
            shard.inserted(1, now);
        }
        Self::put_tokens(&mut locked, prepared);
        if let Some(code) = code {
            if let Some(shard) = locked.shard(code_shard) {
                shard.codes.insert(
                    code.hash,
                    StoredCode {
                        record: code,
                        consumed: false,
                    },
                );
                shard.inserted(1, now);
            }
        }
        ready(Ok(()))
    }

    fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<FoundRefreshToken>, StoreError>> + Send {
        let found = self.find_with_grant(token_shard(hash), |shard| {
            let stored = shard.refresh.get(hash)?;
            Some(((stored.record(*hash), stored.current), stored.grant_id))
        });
        ready(Ok(found.map(|((record, current), grant)| {
            FoundRefreshToken {
                record,
                grant,
                current,
            }
        })))
    }

    fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        rotation: &RefreshRotation,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
        // The token's grant never changes: read it, then take every lock the
        // rotation needs. The lookup, the decision, the compare-and-swap and
        // the inserts happen under those locks: a concurrent reader sees the
        // old token current (and no new tokens), or rotated out with the new
        // tokens stored; a concurrent revocation comes before (nothing
        // stored) or after (all revoked).
        let old_shard = token_shard(old);
        let Some(grant_id) = read(self.inner.shard(old_shard))
            .refresh
            .get(old)
            .map(|stored| stored.grant_id)
        else {
            return ready(Ok(Rotation::Refused(None)));
        };
        let g = grant_shard(&grant_id);
        let mut locked = self.lock(&[
            old_shard,
            g,
            token_shard(&rotation.access_token.hash),
            token_shard(&rotation.refresh_token.hash),
        ]);
        let Some(found) = Self::locked_with_grant(&mut locked, old_shard, &grant_id, |shard| {
            let stored = shard.refresh.get(old)?;
            Some((stored.record(*old), stored.current))
        })
        .map(|((record, current), grant)| FoundRefreshToken {
            record,
            grant,
            current,
        }) else {
            return ready(Ok(Rotation::Refused(None)));
        };
        let rotation = match rotation.decide(&found) {
            Decision::Issue => {
                if let Some(stored) = locked
                    .shard(old_shard)
                    .and_then(|shard| shard.refresh.get_mut(old))
                {
                    stored.current = false;
                }
                let (refresh, access) = rotation.tokens(&found);
                let prepared = self.prepare_tokens(
                    to_ms(rotation.now),
                    Some(access),
                    Some(refresh),
                    &found.grant.scope,
                );
                Self::put_tokens(&mut locked, prepared);
                Rotation::Rotated(found)
            }
            Decision::RevokeGrant => {
                Self::locked_revoke(&mut locked, &grant_id);
                Rotation::Revoked(grant_id)
            }
            Decision::Refuse => Rotation::Refused(Some(found)),
        };
        ready(Ok(rotation))
    }

    fn find_code(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<FoundCode>, StoreError>> + Send {
        let found = self.find_with_grant(token_shard(hash), |shard| {
            let stored = shard.codes.get(hash)?;
            Some((
                (stored.record.clone(), stored.consumed),
                stored.record.grant_id,
            ))
        });
        ready(Ok(found.map(|((code, redeemed), grant)| FoundCode {
            code,
            grant,
            redeemed,
        })))
    }

    fn redeem_code(
        &self,
        hash: &TokenHash,
        redemption: &CodeRedemption,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send {
        // The code's grant never changes: read it, then take every lock the
        // redemption needs. The lookup, the decision, the check-and-mark and
        // the inserts happen under those locks: a concurrent redemption sees
        // the code unredeemed (and no tokens) or redeemed (with its tokens
        // stored).
        let code_shard = token_shard(hash);
        let Some(grant_id) = read(self.inner.shard(code_shard))
            .codes
            .get(hash)
            .map(|stored| stored.record.grant_id)
        else {
            return ready(Ok(Redemption::Refused(None)));
        };
        let mut locked = self.lock(&[
            code_shard,
            grant_shard(&grant_id),
            token_shard(&redemption.access_token.hash),
            redemption
                .refresh_token
                .as_ref()
                .map_or(code_shard, |r| token_shard(&r.hash)),
        ]);
        let Some(found) = Self::locked_with_grant(&mut locked, code_shard, &grant_id, |shard| {
            let stored = shard.codes.get(hash)?;
            Some((stored.record.clone(), stored.consumed))
        })
        .map(|((code, redeemed), grant)| FoundCode {
            code,
            grant,
            redeemed,
        }) else {
            return ready(Ok(Redemption::Refused(None)));
        };
        let redemption = match redemption.decide(&found) {
            Decision::Issue => {
                if let Some(stored) = locked
                    .shard(code_shard)
                    .and_then(|shard| shard.codes.get_mut(hash))
                {
                    stored.consumed = true;
                }
                let (access, refresh) = redemption.tokens(&found.grant);
                let prepared = self.prepare_tokens(
                    to_ms(redemption.now),
                    Some(access),
                    refresh,
                    &found.grant.scope,
                );
                Self::put_tokens(&mut locked, prepared);
                Redemption::Redeemed(found)
            }
            Decision::RevokeGrant => {
                Self::locked_revoke(&mut locked, &grant_id);
                Redemption::Revoked(grant_id)
            }
            Decision::Refuse => Redemption::Refused(Some(found)),
        };
        ready(Ok(redemption))
    }

    fn save_pending(
        &self,
        pending: PendingAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let now = to_ms(pending.created_at);
        let mut shard = write(self.inner.shard(token_shard(&pending.hash)));
        shard.pending.insert(pending.hash, pending);
        shard.inserted(1, now);
        ready(Ok(()))
    }

    fn find_pending(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send {
        ready(Ok(read(self.inner.shard(token_shard(hash)))
            .pending
            .get(hash)
            .cloned()))
    }

    fn take_pending(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<PendingAuthorizationRecord>, StoreError>> + Send {
        ready(Ok(write(self.inner.shard(token_shard(hash)))
            .pending
            .remove(hash)))
    }

    fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send
    {
        let found = self.find_with_grant(token_shard(hash), |shard| {
            let token = shard.tokens.get(hash)?;
            Some((
                AccessTokenRecord {
                    hash: *hash,
                    grant_id: token.grant_id,
                    scope: token.scope.clone(),
                    issued_at: from_ms(token.issued_ms),
                    expires_at: from_ms(token.expires_ms),
                },
                token.grant_id,
            ))
        });
        ready(Ok(found))
    }

    fn revoke_grant(&self, id: &GrantId) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // Tokens of a revoked grant are unreachable at once: a lookup requires
        // the grant. They are dropped when they expire, or by `purge_expired`.
        let removed = write(self.inner.shard(grant_shard(id))).grants.remove(id);
        ready(Ok(removed.is_some()))
    }

    fn revoke_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // One map operation under the token's shard lock; the grant, wherever
        // it lives, is not touched.
        let removed = write(self.inner.shard(token_shard(hash)))
            .tokens
            .remove(hash);
        ready(Ok(removed.is_some()))
    }

    fn revoke_client_grants(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        // One shard at a time, never two locks at once. Grants are sharded by
        // their own identifier, so every shard is visited: an administrative
        // operation, linear in the store's size. Tokens of a removed grant are
        // unreachable at once and dropped by the next sweep or purge.
        let mut removed = 0;
        for shard in &self.inner.shards {
            let mut shard = write(shard);
            let before = shard.grants.len();
            shard.grants.retain(|_, g| g.client_id != *client_id);
            removed += before - shard.grants.len();
            shard.pending.retain(|_, p| p.client_id != *client_id);
        }
        self.drop_client_devices(client_id);
        ready(Ok(removed as u64))
    }

    fn purge_expired(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let now = to_ms(now);
        let mut removed = 0;
        for shard in &self.inner.shards {
            removed += write(shard).sweep(now);
        }
        // Tokens whose grant was revoked. A grant in another shard is checked
        // with `try_read`, so this never waits on a second lock while holding
        // one; a token skipped that way is unreachable anyway and expires soon.
        for (index, shard) in self.inner.shards.iter().enumerate() {
            let mut guard = write(shard);
            let Shard {
                grants,
                tokens,
                refresh,
                ..
            } = &mut *guard;
            let grant_exists = |id: &GrantId| {
                let g = grant_shard(id);
                if g == index {
                    grants.contains_key(id)
                } else {
                    self.inner
                        .shard(g)
                        .try_read()
                        .map_or(true, |other| other.grants.contains_key(id))
                }
            };
            let before = tokens.len() + refresh.len();
            tokens.retain(|_, t| grant_exists(&t.grant_id));
            refresh.retain(|_, r| grant_exists(&r.grant_id));
            removed += before - tokens.len() - refresh.len();
            guard.live_after_sweep = guard.len();
        }
        removed += self.purge_devices(from_ms(now));
        ready(Ok(removed as u64))
    }

    fn save_device_authorization(
        &self,
        record: DeviceAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        ready(self.save_device(record))
    }

    fn find_device_authorization(
        &self,
        user_code_hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<DeviceAuthorizationRecord>, StoreError>> + Send {
        ready(Ok(self.find_device(user_code_hash)))
    }

    fn decide_device_authorization(
        &self,
        device_code_hash: &TokenHash,
        decision: DeviceDecision,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        ready(Ok(self.decide_device(device_code_hash, decision, now)))
    }

    fn poll_device_code(
        &self,
        device_code_hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
        collection: &DeviceCollection,
    ) -> impl Future<Output = Result<Option<PolledDeviceCode>, StoreError>> + Send {
        ready(self.poll_device(device_code_hash, client_id, now, collection))
    }
}

/// The most distinct scopes interned; past it, scopes are stored as they come.
const MAX_INTERNED_SCOPES: usize = 1024;

/// Shares one allocation among all records with the same scope. A server
/// issues millions of tokens over a handful of distinct scopes, so this saves
/// an allocation per live token and, more to the point, a cold free per
/// expired one. Bounded, since requested scopes are only limited to subsets of
/// a client's allowed scope.
#[derive(Default)]
struct ScopeInterner {
    scopes: RwLock<std::collections::HashSet<Scope>>,
}

impl ScopeInterner {
    fn intern(&self, scope: &Scope) -> Scope {
        if scope.is_empty() {
            return Scope::empty();
        }
        if let Some(shared) = read(&self.scopes).get(scope) {
            return shared.clone();
        }
        let mut scopes = write(&self.scopes);
        if scopes.len() < MAX_INTERNED_SCOPES {
            scopes.insert(scope.clone());
        }
        scope.clone()
    }
}

/// Keys here are SHA-256 digests and random identifiers: already uniformly
/// random, so the bucket comes straight from their first eight bytes, with no
/// hashing. Keys are never chosen by a requester, so there is no flooding to
/// defend against.
#[derive(Default)]
struct PassThroughHasher {
    hash: u64,
    filled: u8,
}

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.hash
    }

    fn write(&mut self, bytes: &[u8]) {
        // Keys write their whole digest at once: take eight bytes in one go.
        if self.filled == 0 {
            if let Some(head) = bytes.first_chunk::<8>() {
                self.hash = u64::from_be_bytes(*head);
                self.filled = 8;
                return;
            }
        }
        for b in bytes {
            if self.filled == 8 {
                return;
            }
            self.hash = self.hash << 8 | u64::from(*b);
            self.filled += 1;
        }
    }

    // Slices and arrays hash their length first; it carries no entropy.
    fn write_usize(&mut self, _: usize) {}
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<PassThroughHasher>>;

// A panic while a lock is held cannot leave these maps half-updated (every
// critical section is a few whole map operations), so poisoning is ignored.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PlannedToken;
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
            GrantId::generate_for(&hash)
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
            created_at: now,
            expires_at: now + lifetime,
        };
        let token = AccessTokenRecord {
            hash,
            grant_id: grant.id,
            scope: Scope::empty(),
            issued_at: now,
            expires_at: now + lifetime,
        };
        block_on(store.create_grant(NewGrant::with_access_token(grant, token))).unwrap();
        (hash, id)
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
            id: GrantId::generate_for(&hash),
            client_id: ClientId::new_unchecked("other"),
            subject: None,
            scope: Scope::empty(),
            created_at: now,
            expires_at: now + Duration::from_secs(60),
        };
        let token = AccessTokenRecord {
            hash,
            grant_id: other.id,
            scope: Scope::empty(),
            issued_at: now,
            expires_at: now + Duration::from_secs(60),
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
            assert!(block_on(store.revoke_grant(&grant)).unwrap());
            assert!(block_on(store.find_access_token(&hash)).unwrap().is_none());
            // The orphaned token is dropped by a purge even before it expires.
            assert_eq!(block_on(store.purge_expired(now)).unwrap(), 1);
            assert_eq!(store.access_token_count(), 0);
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
            };
            block_on(store.create_grant(NewGrant::with_code(grant.clone(), record))).unwrap();

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
}
