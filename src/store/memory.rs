//! The embedded in-memory store.
//!
//! Safe under concurrency: grants and tokens are split into 256 shards by key,
//! each behind its own lock, and no lock is held across an `.await` (there are
//! none inside). The store gives a new grant an identifier that shares bytes
//! with its first secret's hash ([`GrantStore::grant_id_for`]), so a grant
//! and its first token share a shard: issuing them takes one lock.
//!
//! Access tokens live in an open-addressing table per shard ([`access`])
//! whose entries carry what a lookup needs of their grant, so finding a
//! token reads one table slot under one lock. A grant whose only secret is
//! its first access token (client credentials, implicit) is kept in that
//! token's entry alone: one record per token, found from the grant's
//! identifier when the grant is revoked. Other grants have their own entry,
//! and revoking one marks it in the shards holding its access tokens.
//!
//! Expired grants and tokens are dropped as the store goes: every so many
//! inserts into a shard sweep that shard, so memory stays proportional to the
//! live tokens without a background task. [`GrantStore::purge_expired`] sweeps
//! everything at once.

use std::collections::{HashMap, HashSet};
use std::future::{Future, ready};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use super::{
    AccessTokenRecord, AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption, Decision,
    FoundCode, FoundRefreshToken, GrantId, GrantRecord, GrantStore, NewCodeGrant, NewGrant,
    OpenIdGrant, PendingAuthorizationRecord, PushedAuthorizationRecord, Redemption,
    RefreshRotation, RefreshTokenRecord, Rotation, StoreError, Subject,
};
use super::{
    DeviceAuthorizationRecord, DeviceAuthorizationStore, DeviceCollection, DeviceDecision,
    PolledDeviceCode,
};
use crate::client::{Client, ClientId, ClientRegistry, RegistrationQuota};
use crate::protocol::{AuthorizationDetails, ResourceSet, Scope};
use crate::token::{Confirmation, TokenHash};
use access::{AccessEntry, AccessTable};

mod access;
mod device;
mod replay;

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
/// server's [`ClientRegistry`] and its [`TokenStore`](super::TokenStore). State is lost when the
/// process ends; use it for tests, development, and single-process servers
/// that can afford to lose their tokens.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
    devices: Arc<device::DeviceTable>,
    replays: Arc<replay::ReplayTable>,
}

struct Inner {
    clients: RwLock<ClientTable>,
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

/// The registered clients, and for those stored within a registration
/// quota, their registrant and each registrant's count — all under one lock,
/// so counting and inserting are one step.
#[derive(Default)]
struct ClientTable {
    by_id: HashMap<ClientId, Arc<Client>, BuildHasherDefault<WordHasher>>,
    registrant_of: HashMap<ClientId, TokenHash>,
    per_registrant: HashMap<TokenHash, u64>,
}

impl ClientTable {
    fn remove(&mut self, client_id: &str) {
        self.by_id.remove(client_id);
        if let Some(registrant) = self.registrant_of.remove(client_id) {
            if let Some(count) = self.per_registrant.get_mut(&registrant) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.per_registrant.remove(&registrant);
                }
            }
        }
    }
}

/// A grant as held in memory: the record without its key, times in
/// milliseconds. 88 bytes, so a table entry with its key is 104.
#[derive(Clone)]
struct StoredGrant {
    client_id: ClientId,
    subject: Option<Subject>,
    scope: Scope,
    resources: ResourceSet,
    authorization_details: AuthorizationDetails,
    openid: Option<Arc<OpenIdGrant>>,
    created_ms: u64,
    expires_ms: u64,
    /// The shard groups ([`shard_group`]) its access tokens were stored in:
    /// where revoking it must be made visible.
    access_shards: u64,
}

impl StoredGrant {
    fn record(self, id: GrantId) -> GrantRecord {
        GrantRecord {
            id,
            client_id: self.client_id,
            subject: self.subject,
            scope: self.scope,
            resources: self.resources,
            authorization_details: self.authorization_details,
            openid: self.openid,
            created_at: from_ms(self.created_ms),
            expires_at: from_ms(self.expires_ms),
        }
    }
}

fn to_ms(t: SystemTime) -> u64 {
    // Saturating, as `as_millis` narrowed would be, without its 128-bit
    // arithmetic: validation converts the clock's reading on every call.
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| {
        d.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_millis()))
    })
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
/// as long as it could have worked. 64 bytes; 96 with its key.
#[derive(Clone)]
struct StoredRefresh {
    grant_id: GrantId,
    scope: Scope,
    issued_ms: u64,
    expires_ms: u64,
    current: bool,
    /// A public client's DPoP binding (RFC 9449 §5), boxed: few tokens
    /// have one.
    cnf: Option<Box<Confirmation>>,
}

impl StoredRefresh {
    fn record(&self, hash: TokenHash) -> RefreshTokenRecord {
        RefreshTokenRecord {
            hash,
            grant_id: self.grant_id,
            scope: self.scope.clone(),
            issued_at: from_ms(self.issued_ms),
            expires_at: from_ms(self.expires_ms),
            cnf: self.cnf.as_deref().cloned(),
        }
    }
}

/// One shard: the grants, tokens, codes and pending requests whose keys end
/// in its byte.
///
/// Field order matters: the counters and the tables every token request
/// touches come first, so they share the lock's cache lines.
#[derive(Default)]
#[repr(C)]
struct Shard {
    /// Records inserted since the last sweep.
    inserts: usize,
    /// Records left by the last sweep.
    live_after_sweep: usize,
    access: AccessTable,
    /// Grants revoked while they had access tokens in this shard: those
    /// tokens are dead. Their entries go at the next sweep, which empties
    /// this set (and so does a set grown past [`MAX_REVOKED`]). Sealed
    /// grants never appear here: revoking one removes its entry.
    revoked: Set<GrantId>,
    grants: Map<GrantId, StoredGrant>,
    refresh: Map<TokenHash, StoredRefresh>,
    codes: Map<TokenHash, StoredCode>,
    pending: Map<TokenHash, PendingAuthorizationRecord>,
    /// Pushed authorization requests (RFC 9126), by `request_uri` hash.
    pushed: Map<TokenHash, PushedAuthorizationRecord>,
}

/// Revoked grants a shard remembers before it drops their tokens at once.
const MAX_REVOKED: usize = 64;

impl Shard {
    /// Records held. A sealed grant counts as two, the grant and its token,
    /// as it would stored apart.
    fn len(&self) -> usize {
        self.grants.len()
            + self.access.len()
            + self.access.sealed()
            + self.refresh.len()
            + self.codes.len()
            + self.pending.len()
            + self.pushed.len()
    }

    /// Whether `entry`, held in this shard, belongs to a revoked grant.
    fn is_revoked(&self, entry: &AccessEntry) -> bool {
        !entry.sealed() && !self.revoked.is_empty() && self.revoked.contains(&entry.grant_id)
    }

    /// Drops the access tokens of the grants in `revoked`, and forgets them.
    /// Returns how many records went.
    fn drop_revoked(&mut self) -> usize {
        if self.revoked.is_empty() {
            return 0;
        }
        let Self {
            access, revoked, ..
        } = self;
        let (tokens, _) = access.retain(|e| e.sealed() || !revoked.contains(&e.grant_id));
        revoked.clear();
        tokens
    }

    /// Counts `n` inserts and sweeps when they have paid for it.
    fn inserted(&mut self, n: usize, now: u64) {
        self.inserts += n;
        if self.inserts >= SWEEP_EVERY.max(self.live_after_sweep) {
            self.sweep(now);
        }
    }

    /// Drops expired records (by expiry only: cheap), and the access tokens
    /// of revoked grants. Returns how many went.
    fn sweep(&mut self, now: u64) -> usize {
        let before = self.len();
        self.grants.retain(|_, g| g.expires_ms > now);
        let Self {
            access, revoked, ..
        } = self;
        access.retain(|e| e.live_at(now) && (e.sealed() || !revoked.contains(&e.grant_id)));
        revoked.clear();
        self.refresh.retain(|_, r| r.expires_ms > now);
        self.codes.retain(|_, c| to_ms(c.record.expires_at) > now);
        self.pending.retain(|_, p| to_ms(p.expires_at) > now);
        self.pushed.retain(|_, p| to_ms(p.expires_at) > now);
        self.inserts = 0;
        self.live_after_sweep = self.len();
        before - self.live_after_sweep
    }
}

/// The most shards one operation locks at once: a grant with its code, or
/// its access and refresh tokens, or a code or refresh token with the two
/// tokens it is exchanged for.
const MAX_LOCKED: usize = 4;

/// What an access token keeps beside its entry, when it has it: its key
/// binding (RFC 9449 §6) and authorization details (RFC 9396 §6.2).
type AccessExtras = (Option<Confirmation>, AuthorizationDetails);

/// Tokens in their stored form, ready to insert.
struct PreparedTokens {
    now: u64,
    /// The token's hash, entry, audience, and key binding with
    /// authorization details.
    access: Option<(TokenHash, AccessEntry, ResourceSet, AccessExtras)>,
    refresh: Option<(TokenHash, StoredRefresh)>,
}

impl PreparedTokens {
    /// The shard the access token goes to; `otherwise` when there is none.
    fn access_shard(&self, otherwise: usize) -> usize {
        self.access
            .as_ref()
            .map_or(otherwise, |(h, _, _, _)| token_shard(h))
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
/// [`derive_grant_id`] makes equal to its first secret's.
fn grant_shard(id: &GrantId) -> usize {
    usize::from(id.as_bytes()[15])
}

/// Shards in a group: a grant records where its access tokens are by group,
/// in the 64 bits of [`StoredGrant::access_shards`].
const GROUP: usize = SHARDS / 64;

/// The bit of shard `index`'s group.
fn shard_group(index: usize) -> u64 {
    1u64.checked_shl(u32::try_from(index / GROUP).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// The identifier the memory store gives a grant whose first secret has
/// hash `first` ([`GrantStore::grant_id_for`]): random, except that its
/// first four bytes are the hash's first four and its last byte the hash's
/// last. The grant and its first secret then share a shard — one lock to
/// issue both, one to find a token with its grant — and a sealed grant's
/// token is found from the grant's identifier: its slot's place comes from
/// the same four bytes.
///
/// The identifier is still 128 uniformly random bits, as the hash of a
/// random secret is uniformly random, and it gives nothing away: 40 bits of
/// a SHA-256 digest do not lead to a secret of 256 random bits (RFC 6819
/// §5.1.4.2.2). A grant identifier is an identifier, not a secret.
pub(super) fn derive_grant_id(first: &TokenHash) -> GrantId {
    let mut id = *GrantId::generate().as_bytes();
    let hash = first.as_bytes();
    id[..4].copy_from_slice(&hash[..4]);
    id[15] = hash[31];
    GrantId::from_bytes(id)
}

/// Whether a new grant can be kept in its first access token's entry alone
/// (see [`AccessEntry::SEALED`]): the token is its only secret, the token's
/// entry can stand for the grant (same scope, same lifetime), and its
/// identifier leads to the token's shard and slot ([`derive_grant_id`]) —
/// a grant whose identifier this store did not give is kept apart.
fn seals(
    grant: &GrantRecord,
    access: Option<&AccessTokenRecord>,
    refresh: Option<&RefreshTokenRecord>,
    code: Option<&AuthorizationCodeRecord>,
) -> bool {
    let Some(access) = access else {
        return false;
    };
    let (id, hash) = (grant.id.as_bytes(), access.hash.as_bytes());
    refresh.is_none()
        && code.is_none()
        && access.grant_id == grant.id
        && id[..4] == hash[..4]
        && grant_shard(&grant.id) == token_shard(&access.hash)
        && access.issued_at == grant.created_at
        && access.expires_at == grant.expires_at
        && access.scope == grant.scope
        && access.audience == grant.resources
        // An entry has no room for an OpenID Connect grant's record.
        && grant.openid.is_none()
        // Nor for authorization details (RFC 9396).
        && grant.authorization_details.is_empty()
        && access.authorization_details.is_empty()
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
            .field("clients", &read(&self.inner.clients).by_id.len())
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
        self.inner.shards.iter().map(|s| read(s).access.len()).sum()
    }

    /// How many grants are held.
    pub fn grant_count(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| {
                let shard = read(s);
                shard.grants.len() + shard.access.sealed()
            })
            .sum()
    }

    /// Runs `f` on every shard in turn, one lock at a time (never two at
    /// once), and sums what it returns: the administrative passes over the
    /// whole store.
    fn each_shard(&self, mut f: impl FnMut(&mut Shard) -> usize) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| f(&mut write(shard)))
            .sum()
    }

    /// Stores a new grant with its first tokens or its code, under one set
    /// of locks, so a reader sees the grant and its first secrets together
    /// or not at all.
    fn insert_grant(
        &self,
        grant: GrantRecord,
        access_token: Option<AccessTokenRecord>,
        refresh_token: Option<RefreshTokenRecord>,
        code: Option<AuthorizationCodeRecord>,
    ) -> Result<(), StoreError> {
        let now = to_ms(grant.created_at);
        let sealed = seals(
            &grant,
            access_token.as_ref(),
            refresh_token.as_ref(),
            code.as_ref(),
        );
        let (grant_id, g) = (grant.id, grant_shard(&grant.id));
        let stored_grant = StoredGrant {
            client_id: grant.client_id,
            subject: grant.subject,
            scope: self.inner.scopes.intern(&grant.scope),
            resources: grant.resources,
            authorization_details: grant.authorization_details,
            openid: grant.openid,
            created_ms: now,
            expires_ms: to_ms(grant.expires_at),
            access_shards: 0,
        };
        let (prepared, stored_grant) = match access_token {
            Some(token) if sealed => {
                // Sealed: the token is the grant, with its audience.
                let (hash, audience) = (token.hash, token.audience);
                let extras = (token.cnf, token.authorization_details);
                let prepared = PreparedTokens {
                    now,
                    access: Some((
                        hash,
                        Self::sealed_entry(token.grant_id, stored_grant),
                        audience,
                        extras,
                    )),
                    refresh: None,
                };
                (prepared, None)
            }
            access_token => (
                self.prepare_tokens(now, access_token, refresh_token, &stored_grant),
                Some(stored_grant),
            ),
        };
        let code_shard = code.as_ref().map_or(g, |c| token_shard(&c.hash));
        // By construction ([`derive_grant_id`]) the grant and its first
        // secrets usually share one shard: one lock.
        let mut locked = self.lock(&[
            g,
            prepared.access_shard(g),
            prepared.refresh_shard(g),
            code_shard,
        ]);
        if let Some(shard) = locked.shard(g) {
            // A sealed grant is kept in its token's entry, but counts as a
            // record all the same.
            if let Some(stored_grant) = stored_grant {
                shard.grants.insert(grant_id, stored_grant);
            }
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
        Ok(())
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

    /// The entry of an access token of `grant`, which is kept apart.
    fn access_entry(&self, token: AccessTokenRecord, grant: &StoredGrant) -> AccessEntry {
        // The flag says the entry's scope and audience are the grant's, so
        // a lookup can answer with the grant without reading it.
        // An OpenID Connect grant's record is only in its own entry.
        let grant_scope = if token.scope == grant.scope
            && token.audience == grant.resources
            && grant.openid.is_none()
            && grant.authorization_details.is_empty()
        {
            AccessEntry::GRANT_SCOPE
        } else {
            0
        };
        AccessEntry {
            grant_id: token.grant_id,
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
            scope: self.share_scope(token.scope, &grant.scope),
            issued_ms: to_ms(token.issued_at),
            expires_ms: to_ms(token.expires_at),
            grant_expires_ms: grant.expires_ms,
            grant_created: AccessEntry::grant_created(grant.created_ms, grant_scope),
        }
    }

    /// The entry of the only token of a new grant that [`seals`] allows to
    /// stand for it: it takes the grant's fields rather than copies of them.
    fn sealed_entry(grant_id: GrantId, grant: StoredGrant) -> AccessEntry {
        AccessEntry {
            grant_id,
            client_id: grant.client_id,
            subject: grant.subject,
            scope: grant.scope,
            issued_ms: grant.created_ms,
            expires_ms: grant.expires_ms,
            grant_expires_ms: grant.expires_ms,
            grant_created: AccessEntry::grant_created(
                grant.created_ms,
                AccessEntry::SEALED | AccessEntry::GRANT_SCOPE,
            ),
        }
    }

    fn stored_refresh(&self, refresh: RefreshTokenRecord, grant_scope: &Scope) -> StoredRefresh {
        StoredRefresh {
            grant_id: refresh.grant_id,
            scope: self.share_scope(refresh.scope, grant_scope),
            issued_ms: to_ms(refresh.issued_at),
            expires_ms: to_ms(refresh.expires_at),
            current: true,
            cnf: refresh.cnf.map(Box::new),
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
        grant: &StoredGrant,
    ) -> PreparedTokens {
        PreparedTokens {
            now,
            access: access.map(|a| {
                let (hash, audience) = (a.hash, a.audience.clone());
                let extras = (a.cnf.clone(), a.authorization_details.clone());
                (hash, self.access_entry(a, grant), audience, extras)
            }),
            refresh: refresh.map(|r| (r.hash, self.stored_refresh(r, &grant.scope))),
        }
    }

    /// Stores prepared tokens in shards already locked.
    fn put_tokens(locked: &mut Locked<'_>, prepared: PreparedTokens) {
        let PreparedTokens {
            now,
            access,
            refresh,
        } = prepared;
        if let Some((hash, entry, audience, extras)) = access {
            Self::put_access(locked, hash, entry, (audience, extras), now);
        }
        if let Some((hash, stored)) = refresh {
            if let Some(shard) = locked.shard(token_shard(&hash)) {
                shard.refresh.insert(hash, stored);
                shard.inserted(1, now);
            }
        }
    }

    /// Stores an access token in shards already locked: its own, and its
    /// grant's unless the token is a sealed grant. The grant records the
    /// token's shard, so that revoking the grant reaches it.
    fn put_access(
        locked: &mut Locked<'_>,
        hash: TokenHash,
        entry: AccessEntry,
        (audience, extras): (ResourceSet, AccessExtras),
        now: u64,
    ) {
        let index = token_shard(&hash);
        if !entry.sealed() {
            let grant_id = entry.grant_id;
            if let Some(grant) = locked
                .shard(grant_shard(&grant_id))
                .and_then(|shard| shard.grants.get_mut(&grant_id))
            {
                grant.access_shards |= shard_group(index);
            }
        }
        if let Some(shard) = locked.shard(index) {
            shard.access.insert_bound(hash, entry, audience, extras);
            shard.inserted(1, now);
        }
    }

    /// Makes the revocation of grant `id` visible in the shard groups
    /// `groups`, where its access tokens are: one shard at a time, never two
    /// locks at once.
    fn mark_revoked(&self, id: &GrantId, groups: u64) {
        for (index, shard) in self.inner.shards.iter().enumerate() {
            if groups & shard_group(index) == 0 {
                continue;
            }
            let mut shard = write(shard);
            shard.revoked.insert(*id);
            if shard.revoked.len() > MAX_REVOKED {
                shard.drop_revoked();
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

    /// Removes the grant `id` from shards already locked, returning the
    /// shard groups holding its access tokens: the caller makes the
    /// revocation visible there with [`mark_revoked`](Self::mark_revoked)
    /// once the locks are released, before it returns (see
    /// [`GrantStore::revoke_grant`]). A code's or refresh token's grant is
    /// never sealed, so it has an entry of its own.
    fn locked_revoke(locked: &mut Locked<'_>, id: &GrantId) -> u64 {
        locked
            .shard(grant_shard(id))
            .and_then(|shard| shard.grants.remove(id))
            .map_or(0, |grant| grant.access_shards)
    }

    /// The grant `id` in shards already locked, if it exists.
    fn locked_grant<'l>(locked: &'l mut Locked<'_>, id: &GrantId) -> Option<&'l StoredGrant> {
        locked
            .shard(grant_shard(id))
            .and_then(|shard| shard.grants.get(id))
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
        ready(Ok(read(&self.inner.clients).by_id.get(client_id).cloned()))
    }

    fn insert_client(&self, client: Client) -> impl Future<Output = Result<(), StoreError>> + Send {
        let mut clients = write(&self.inner.clients);
        if clients.by_id.contains_key(client.id()) {
            return ready(Err(StoreError::Conflict));
        }
        clients.by_id.insert(client.id().clone(), Arc::new(client));
        ready(Ok(()))
    }

    fn insert_client_within_quota(
        &self,
        client: Client,
        quota: &RegistrationQuota,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // The count, the check and the insert under one write lock.
        let mut clients = write(&self.inner.clients);
        if clients.by_id.contains_key(client.id()) {
            return ready(Err(StoreError::Conflict));
        }
        let registrant = *quota.registrant();
        let count = clients
            .per_registrant
            .get(&registrant)
            .copied()
            .unwrap_or(0);
        if count >= quota.max_clients() {
            return ready(Ok(false));
        }
        clients.per_registrant.insert(registrant, count + 1);
        clients
            .registrant_of
            .insert(client.id().clone(), registrant);
        clients.by_id.insert(client.id().clone(), Arc::new(client));
        ready(Ok(true))
    }

    fn update_client(
        &self,
        client: Client,
        expected_token: Option<&TokenHash>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // The check and the swap under one write lock: a compare-and-swap.
        let mut clients = write(&self.inner.clients);
        let replaced = match clients.by_id.get_mut(client.id().as_str()) {
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
        let deleted = match clients.by_id.get(client_id) {
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

impl GrantStore for MemoryStore {
    fn grant_id_for(&self, first_secret: &TokenHash) -> GrantId {
        derive_grant_id(first_secret)
    }

    fn create_grant(&self, new: NewGrant) -> impl Future<Output = Result<(), StoreError>> + Send {
        let NewGrant {
            grant,
            access_token,
            refresh_token,
        } = new;
        ready(self.insert_grant(grant, access_token, refresh_token, None))
    }

    fn find_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<(AccessTokenRecord, GrantRecord)>, StoreError>> + Send
    {
        // The token's entry carries its grant, so one slot under one read
        // lock answers — unless the token's scope was narrowed, when the
        // grant's own entry gives its scope. A revoked grant is in its
        // tokens' shards' `revoked` sets, and has no entry; a revoked sealed
        // grant has no token entry either.
        let index = token_shard(hash);
        let (record, grant_id) = {
            let shard = read(self.inner.shard(index));
            let Some(entry) = shard.access.get(hash).filter(|e| !shard.is_revoked(e)) else {
                return ready(Ok(None));
            };
            let audience = shard.access.audience(hash, entry);
            let record = AccessTokenRecord {
                hash: *hash,
                grant_id: entry.grant_id,
                scope: entry.scope.clone(),
                audience: audience.clone(),
                issued_at: from_ms(entry.issued_ms),
                expires_at: from_ms(entry.expires_ms),
                exchange: shard.access.exchange(hash, entry),
                cnf: shard.access.confirmation(hash, entry),
                authorization_details: shard.access.details(hash, entry),
            };
            if entry.has_grant_scope() {
                let grant = GrantRecord {
                    id: entry.grant_id,
                    client_id: entry.client_id.clone(),
                    subject: entry.subject.clone(),
                    scope: entry.scope.clone(),
                    resources: audience,
                    authorization_details: AuthorizationDetails::empty(),
                    openid: None,
                    created_at: from_ms(entry.grant_created_ms()),
                    expires_at: from_ms(entry.grant_expires_ms),
                };
                return ready(Ok(Some((record, grant))));
            }
            (record, entry.grant_id)
        };
        let grant = read(self.inner.shard(grant_shard(&grant_id)))
            .grants
            .get(&grant_id)
            .cloned();
        ready(Ok(grant.map(|grant| (record, grant.record(grant_id)))))
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
                let Some(prepared) = Self::locked_grant(&mut locked, &grant_id).map(|grant| {
                    self.prepare_tokens(to_ms(rotation.now), Some(access), Some(refresh), grant)
                }) else {
                    return ready(Ok(Rotation::Refused(Some(found))));
                };
                Self::put_tokens(&mut locked, prepared);
                Rotation::Rotated(found)
            }
            Decision::RevokeGrant => {
                let groups = Self::locked_revoke(&mut locked, &grant_id);
                drop(locked);
                self.mark_revoked(&grant_id, groups);
                Rotation::Revoked(grant_id)
            }
            Decision::Refuse => Rotation::Refused(Some(found)),
        };
        ready(Ok(rotation))
    }

    fn revoke_grant(&self, id: &GrantId) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let mut shard = write(self.inner.shard(grant_shard(id)));
        let existed = match shard.grants.remove(id) {
            // Its codes and refresh tokens are unreachable at once: a lookup
            // requires the grant. Its access tokens carry what they need of
            // it, so the shards holding them learn of the revocation before
            // this returns.
            Some(grant) => {
                drop(shard);
                self.mark_revoked(id, grant.access_shards);
                true
            }
            // A sealed grant goes with its only token.
            None => shard.access.take_sealed(id).is_some(),
        };
        ready(Ok(existed))
    }

    fn find_grant(
        &self,
        id: &GrantId,
    ) -> impl Future<Output = Result<Option<GrantRecord>, StoreError>> + Send {
        let shard = read(self.inner.shard(grant_shard(id)));
        if let Some(grant) = shard.grants.get(id) {
            return ready(Ok(Some(grant.clone().record(*id))));
        }
        // A sealed grant lives in its only token's entry, in the grant's
        // shard; a revoked one has no entry.
        let found = shard
            .access
            .find_sealed(id)
            .map(|(hash, entry)| GrantRecord {
                id: *id,
                client_id: entry.client_id.clone(),
                subject: entry.subject.clone(),
                scope: entry.scope.clone(),
                resources: shard.access.audience(&hash, entry),
                // Sealed grants are never OpenID Connect ones (`seals`), nor
                // have authorization details.
                authorization_details: AuthorizationDetails::empty(),
                openid: None,
                created_at: from_ms(entry.grant_created_ms()),
                expires_at: from_ms(entry.grant_expires_ms),
            });
        ready(Ok(found))
    }

    fn add_access_token(
        &self,
        token: AccessTokenRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // The grant's shard and the token's, locked together: a concurrent
        // revocation comes before (nothing stored) or after (the token is
        // in a shard the grant names, so it is revoked with it).
        let grant_id = token.grant_id;
        let (g, t) = (grant_shard(&grant_id), token_shard(&token.hash));
        let mut locked = self.lock(&[g, t]);
        if Self::locked_grant(&mut locked, &grant_id).is_none() {
            // A sealed grant lives in its only token's entry (in the grant's
            // shard): it gets an entry of its own, naming that shard.
            let Some(shard) = locked.shard(g) else {
                return ready(Ok(false));
            };
            let Some((sealed_hash, entry)) = shard.access.unseal(&grant_id) else {
                return ready(Ok(false));
            };
            let resources = shard.access.audience(&sealed_hash, &entry);
            shard.grants.insert(
                grant_id,
                StoredGrant {
                    client_id: entry.client_id.clone(),
                    subject: entry.subject.clone(),
                    scope: entry.scope.clone(),
                    resources,
                    // Sealed grants are never OpenID Connect ones (`seals`),
                    // nor have authorization details.
                    authorization_details: AuthorizationDetails::empty(),
                    openid: None,
                    created_ms: entry.grant_created_ms(),
                    expires_ms: entry.grant_expires_ms,
                    access_shards: shard_group(g),
                },
            );
        }
        let (hash, exchange, now) = (token.hash, token.exchange.clone(), to_ms(token.issued_at));
        let Some(prepared) = Self::locked_grant(&mut locked, &grant_id)
            .map(|grant| self.prepare_tokens(now, Some(token), None, grant))
        else {
            return ready(Ok(false));
        };
        Self::put_tokens(&mut locked, prepared);
        if let (Some(exchange), Some(shard)) = (exchange, locked.shard(t)) {
            shard.access.set_exchange(hash, exchange);
        }
        ready(Ok(true))
    }

    fn revoke_access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        // One table operation under the token's shard lock; the grant,
        // wherever it lives, is not touched — except a sealed grant, kept in
        // this token's entry, which moves to an entry of its own in the same
        // shard.
        let mut shard = write(self.inner.shard(token_shard(hash)));
        let removed = shard.access.remove(hash);
        if let Some((entry, audience)) = removed.as_ref().filter(|(e, _)| e.sealed()) {
            shard.grants.insert(
                entry.grant_id,
                StoredGrant {
                    client_id: entry.client_id.clone(),
                    subject: entry.subject.clone(),
                    scope: entry.scope.clone(),
                    resources: audience.clone(),
                    // Sealed grants are never OpenID Connect ones (`seals`),
                    // nor have authorization details.
                    authorization_details: AuthorizationDetails::empty(),
                    openid: None,
                    created_ms: entry.issued_ms,
                    expires_ms: entry.grant_expires_ms,
                    access_shards: 0,
                },
            );
        }
        ready(Ok(removed.is_some()))
    }

    fn revoke_client_grants(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        // One shard at a time, never two locks at once. Grants are sharded by
        // their own identifier, so every shard is visited: an administrative
        // operation, linear in the store's size. Codes and refresh tokens of
        // a removed grant are unreachable at once and dropped by the next
        // sweep or purge.
        let mut removed = self.each_shard(|shard| {
            let before = shard.grants.len();
            shard.grants.retain(|_, g| g.client_id != *client_id);
            before - shard.grants.len()
        });
        // Then the client's access tokens, which carry its id, sealed grants
        // among them. Only once no grant of the client is left: a refresh
        // rotating under a grant not yet removed could otherwise store a
        // token behind this pass.
        for shard in &self.inner.shards {
            let (_, sealed) = write(shard).access.retain(|e| e.client_id != *client_id);
            removed += sealed;
        }
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
        // Refresh tokens whose grant was revoked (access tokens of a revoked
        // grant went with the sweep). A grant in another shard is checked
        // with `try_read`, so this never waits on a second lock while holding
        // one; a token skipped that way is unreachable anyway and expires soon.
        for (index, shard) in self.inner.shards.iter().enumerate() {
            let mut guard = write(shard);
            let Shard {
                grants, refresh, ..
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
            let before = refresh.len();
            refresh.retain(|_, r| grant_exists(&r.grant_id));
            removed += before - refresh.len();
            guard.live_after_sweep = guard.len();
        }
        ready(Ok(removed as u64))
    }
}

impl AuthorizationCodeStore for MemoryStore {
    fn create_code_grant(
        &self,
        new: NewCodeGrant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let NewCodeGrant { grant, code } = new;
        ready(self.insert_grant(grant, None, None, Some(code)))
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
                let Some(prepared) = Self::locked_grant(&mut locked, &grant_id).map(|grant| {
                    self.prepare_tokens(to_ms(redemption.now), Some(access), refresh, grant)
                }) else {
                    return ready(Ok(Redemption::Refused(Some(found))));
                };
                Self::put_tokens(&mut locked, prepared);
                Redemption::Redeemed(found)
            }
            Decision::RevokeGrant => {
                let groups = Self::locked_revoke(&mut locked, &grant_id);
                drop(locked);
                self.mark_revoked(&grant_id, groups);
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

    fn save_pushed(
        &self,
        pushed: PushedAuthorizationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let now = to_ms(pushed.created_at);
        let mut shard = write(self.inner.shard(token_shard(&pushed.hash)));
        shard.pushed.insert(pushed.hash, pushed);
        shard.inserted(1, now);
        ready(Ok(()))
    }

    fn take_pushed(
        &self,
        hash: &TokenHash,
        client_id: &ClientId,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<PushedAuthorizationRecord>, StoreError>> + Send {
        let mut shard = write(self.inner.shard(token_shard(hash)));
        let taken = match shard.pushed.get(hash) {
            Some(p) if p.client_id == *client_id && p.expires_at > now => shard.pushed.remove(hash),
            _ => None,
        };
        ready(Ok(taken))
    }

    fn revoke_client_pending(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        let removed = self.each_shard(|shard| {
            let before = shard.pending.len() + shard.pushed.len();
            shard.pending.retain(|_, p| p.client_id != *client_id);
            shard.pushed.retain(|_, p| p.client_id != *client_id);
            before - shard.pending.len() - shard.pushed.len()
        });
        ready(Ok(removed as u64))
    }

    fn purge_expired_codes(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        // Codes whose grant is gone are unreachable already; they go when
        // they expire, a minute or so later.
        let now = to_ms(now);
        let removed = self.each_shard(|shard| {
            let before = shard.codes.len() + shard.pending.len() + shard.pushed.len();
            shard.codes.retain(|_, c| to_ms(c.record.expires_at) > now);
            shard.pending.retain(|_, p| to_ms(p.expires_at) > now);
            shard.pushed.retain(|_, p| to_ms(p.expires_at) > now);
            before - shard.codes.len() - shard.pending.len() - shard.pushed.len()
        });
        ready(Ok(removed as u64))
    }
}

impl DeviceAuthorizationStore for MemoryStore {
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

    fn revoke_client_device_authorizations(
        &self,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        ready(Ok(self.drop_client_devices(client_id) as u64))
    }

    fn purge_expired_device_authorizations(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        ready(Ok(self.purge_devices(now) as u64))
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

/// Client identifiers: strings the server generated (or the host imported),
/// so not chosen to collide, but not uniformly random in their first bytes
/// either (a host's imported identifiers share prefixes). Mixes a word at a
/// time (FxHash's multiply-rotate), several times cheaper than SipHash on an
/// identifier. No requester chooses an identifier that is inserted (dynamic
/// registration issues its own), so flooding is not a concern: a request
/// can only look one up.
#[derive(Default)]
struct WordHasher {
    hash: u64,
}

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        // The table takes its bucket from the low bits and its tag from the
        // top seven: fold the well-mixed high half into both.
        self.hash.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            for (to, from) in w.iter_mut().zip(rest) {
                *to = *from;
            }
            self.add(u64::from_le_bytes(w) ^ (rest.len() as u64) << 59);
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<PassThroughHasher>>;
type Set<K> = HashSet<K, BuildHasherDefault<PassThroughHasher>>;

// A panic while a lock is held cannot leave these maps half-updated (every
// critical section is a few whole map operations), so poisoning is ignored.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
